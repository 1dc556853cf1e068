/// The two Python programs behind `CodeSandbox`, written into the sandbox's folder once.
///
/// `supervisor.py` runs as the engine's user, outside the sandbox. It builds the sandbox for one
/// program, best effort, reporting what it achieved:
///
/// 1. new namespaces — network (no interfaces but a down loopback: no connection can be made),
///    PID (the program's process tree dies with the namespace's first process) and mount. As
///    root they are created directly; otherwise inside a new user namespace.
/// 2. in the mount namespace, every mount read-only except the program's own folder.
/// 3. a fork: the child (PID 1 of the new namespace) forks the runner and reports its wait status
///    through a pipe, so that the program's own exit code cannot be mistaken for it.
/// 4. the runner: new session, resource limits (CPU, address space, file size, processes, no
///    core files), an unprivileged uid and gid with no groups (as root), a clean environment,
///    stdin from /dev/null, stdout and stderr into the output file; then it executes
///    `python3 -I -B harness.py NONCE` in the program's folder.
///
/// It kills the whole tree at the wall-clock limit, sweeps any process still running as the
/// sandbox uid afterwards, and prints one JSON line: the runner's status and the isolation.
///
/// `harness.py` runs inside: it compiles and executes the model's program (with `__name__` not
/// `"__main__"`, as the official HumanEval harness does), evaluates the example calls (each with
/// a time limit) and prints their outputs on one line that starts with the nonce, then runs the
/// tests. Its exit code is the verdict: 100 passed, 101 syntax error, 102 a failed assertion,
/// 103 any other exception, 104 out of memory.
enum SandboxScripts {
    static let supervisor = #"""
import ctypes, json, os, signal, sys, time

# Nothing the engine had open (its result files, the model) may reach the program.
os.closerange(3, os.sysconf("SC_OPEN_MAX"))
cfg = json.loads(sys.argv[1])
libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 1, 2, 4, 8, 32, 4096, 16384, 1 << 18
isolation = {"network": False, "pid": False, "filesystem": False, "user": None}

def unshare(flags):
    return libc.unshare(ctypes.c_int(flags)) == 0

def mount(src, tgt, fstype, flags):
    f = lambda s: None if s is None else s.encode()
    return libc.mount(f(src), f(tgt), f(fstype), ctypes.c_ulong(flags), None) == 0

class MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]

def set_mount_attr(path, attr_set, attr_clr, recursive):
    # mount_setattr(2), Linux 5.12+: x86-64 and aarch64 share the number 442.
    a = MountAttr(attr_set, attr_clr, 0, 0)
    return libc.syscall(ctypes.c_long(442), ctypes.c_int(-100), path.encode(),
                        ctypes.c_uint(0x8000 if recursive else 0), ctypes.byref(a), ctypes.c_size_t(32)) == 0

uid, gid = cfg.get("uid"), cfg.get("gid")
host_net = os.readlink("/proc/self/ns/net")
root = os.geteuid() == 0
work = cfg["work"]

# 1. namespaces
flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET
if root:
    ok = unshare(flags) or unshare(CLONE_NEWNS | CLONE_NEWNET) or unshare(CLONE_NEWNET)
else:
    ok = False
    real_uid, real_gid = os.getuid(), os.getgid()
    if unshare(CLONE_NEWUSER | flags):
        ok = True
        try:
            open("/proc/self/setgroups", "w").write("deny")
            open("/proc/self/uid_map", "w").write(f"{real_uid} {real_uid} 1")
            open("/proc/self/gid_map", "w").write(f"{real_gid} {real_gid} 1")
        except OSError:
            pass
        isolation["user"] = "same user, in a user namespace"
    else:
        isolation["user"] = "same user"
if ok:
    isolation["network"] = os.readlink("/proc/self/ns/net") != host_net

status_r, status_w = os.pipe()
pending = b""
deadline = time.monotonic() + cfg["timeout"]

def runner():
    os.setsid()
    import resource
    def limit(which, soft, hard=None):
        try:
            resource.setrlimit(which, (soft, soft if hard is None else hard))
        except (ValueError, OSError):
            pass
    limit(resource.RLIMIT_CPU, cfg["cpu"], cfg["cpu"] + 1)
    limit(resource.RLIMIT_AS, cfg["memory"])
    limit(resource.RLIMIT_FSIZE, cfg["fsize"])
    limit(resource.RLIMIT_CORE, 0)
    nproc = cfg["nproc"]
    if not (root and uid is not None):
        # Without a uid of its own the process count is shared with the user's other processes.
        mine = 0
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    mine += os.stat("/proc/" + p).st_uid == os.getuid()
                except OSError:
                    pass
        nproc += mine
    limit(resource.RLIMIT_NPROC, nproc)
    if root and uid is not None:
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    os.chdir(work)
    os.dup2(2, 1)  # stderr is the output file; stdout was the supervisor's report pipe
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": work, "LANG": "C.UTF-8", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": work}
    os.execve(cfg["python"], [cfg["python"], "-I", "-B", cfg["harness"], cfg["nonce"]], env)

child = os.fork()
if child == 0:
    try:
        os.close(status_r)
        # PID 1 of the new namespace (when there is one) — dies with the supervisor.
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if ok:
            isolation["pid"] = os.getpid() == 1
            if mount(None, "/", None, MS_REC | MS_PRIVATE) and set_mount_attr("/", 1, 0, True):
                if mount(work, work, None, MS_BIND) and set_mount_attr(work, 0, 1, False):
                    isolation["filesystem"] = True
                if isolation["pid"]:
                    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        os.write(status_w, (json.dumps(isolation) + "\n").encode())
        r = os.fork()
        if r == 0:
            os.close(status_w)
            try:
                runner()
            except BaseException as e:
                os.write(2, f"sandbox: cannot start the program: {e!r}\n".encode())
                os._exit(127)
        os.write(status_w, (json.dumps({"runner": r}) + "\n").encode())
        while True:
            try:
                pid, st = os.waitpid(r, 0)
            except ChildProcessError:
                st = 0
                break
            if pid == r:
                break
        os.write(status_w, (json.dumps({"raw": st}) + "\n").encode())
    finally:
        os._exit(0)

def read_reports():
    global pending
    os.set_blocking(status_r, False)
    try:
        while True:
            chunk = os.read(status_r, 65536)
            if not chunk:
                break
            pending += chunk
    except BlockingIOError:
        pass
    merged = {}
    for line in pending.decode().splitlines():
        if line.strip():
            try:
                merged.update(json.loads(line))
            except ValueError:
                pass
    return merged
os.close(status_w)
timed_out = False
runner_pid = None
def kill_tree():
    targets = [child, -child]
    if runner_pid is not None:
        targets.append(-runner_pid)
    for target in targets:
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
while True:
    pid, _ = os.waitpid(child, os.WNOHANG)
    if pid == child:
        break
    if time.monotonic() > deadline:
        timed_out = True
        if runner_pid is None:
            runner_pid = read_reports().get("runner")
        kill_tree()
        os.waitpid(child, 0)
        break
    time.sleep(0.005)

reports = read_reports()
for key in isolation:
    if key in reports:
        isolation[key] = reports[key]
raw = reports.get("raw")
runner_pid = reports.get("runner", runner_pid)
if not isolation["pid"]:
    kill_tree()  # without a PID namespace, whatever the program left in its session

# Sweep: any process still running as the sandbox uid (a child that escaped its session) is
# killed by a process of that uid itself: kill(-1) reaches exactly those. With a PID namespace
# nothing can be left (and no process can be forked into it any more).
if root and uid is not None and not isolation["pid"]:
    sweeper = os.fork()
    if sweeper == 0:
        try:
            os.setgid(gid); os.setuid(uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(sweeper, 0)
if root and uid is not None:
    isolation["user"] = f"uid {uid}"

result = {"timed_out": timed_out, "isolation": isolation}
if raw is not None:
    if os.WIFEXITED(raw):
        result["exit"] = os.WEXITSTATUS(raw)
    elif os.WIFSIGNALED(raw):
        result["signal"] = os.WTERMSIG(raw)
print(json.dumps(result), flush=True)
"""#

    static let harness = #"""
import json, os, signal, sys

nonce = sys.argv[1]
with open("program.json", encoding="utf-8") as f:
    spec = json.load(f)

def finish(code, message=None):
    if message:
        os.write(2, ("\n" + message[-2000:] + "\n").encode("utf-8", "replace"))
    os._exit(code)

def classify(e):
    if isinstance(e, SyntaxError):
        return 101
    if isinstance(e, AssertionError):
        return 102
    if isinstance(e, MemoryError):
        return 104
    return 103

def describe(e):
    text = str(e).splitlines()[0] if str(e) else ""
    return (type(e).__name__ + (": " + text if text else ""))[:500]

try:
    program = compile(spec["code"], "solution.py", "exec")
except BaseException as e:
    finish(101, describe(e))

scope = {"__name__": "__sandbox__", "__builtins__": __builtins__}

class ExampleTimeout(BaseException):
    pass

def on_alarm(signum, frame):
    raise ExampleTimeout()

try:
    exec(program, scope)
    examples = spec.get("examples") or []
    if examples:
        signal.signal(signal.SIGALRM, on_alarm)
        outputs = []
        for call in examples:
            try:
                signal.setitimer(signal.ITIMER_REAL, spec.get("example_seconds", 1.0))
                value = eval(call, scope)
                signal.setitimer(signal.ITIMER_REAL, 0)
                text = repr(value)
                outputs.append(text if len(text) <= 1000 else text[:1000] + "…")
            except ExampleTimeout:
                outputs.append("!timeout")
            except BaseException as e:
                signal.setitimer(signal.ITIMER_REAL, 0)
                outputs.append("!" + type(e).__name__)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        os.write(1, ("\n" + nonce + " " + json.dumps(outputs) + "\n").encode("utf-8", "replace"))
    exec(compile(spec["test"] + "\n" + "check(" + spec["entry_point"] + ")\n", "test.py", "exec"), scope)
except BaseException as e:
    finish(classify(e), describe(e))
finish(100)
"""#
}
