"""llama.cpp's answers on the real Qwen2.5-Coder-0.5B-Instruct file, for the real-model tests
(Tests/ExperimentsTests/RealModelReferenceTests.swift) and the closing measurements.

    python3 experiments/humaneval/tools/make_llamacpp_reference.py MODEL.gguf HumanEval.jsonl.gz \
        LLAMA_CPP_BIN [LLAMACL]

Independent of LlamaCL's own code: HumanEval prompts are rendered by jinja2 from the model's own
tokenizer.chat_template (EvalPlus's instruction and response prefix around it) and tokenized by
llama.cpp; the three reference prompts are decoded by llama.cpp (F32 KV cache, greedy = argmax).
LLAMA_CPP_BIN is scripts/llamacpp/build.sh's output (it has llamacpp-reference). Writes the small
committed data to Tests/ExperimentsTests/Fixtures/qwen2.5-coder-0.5b/:
  humaneval-prompts.jsonl   {"task_id", "text" (jinja2's rendering), "tokens" (llama.cpp's ids)}
  greedy.jsonl              {"id", "text", "prompt_tokens", "greedy_tokens" (64)} for 3 prompts
  ID.last-logits.f16        the last prompt position's logits, float16 little-endian (n_vocab)
With LLAMACL (a built binary) it also prints the NMSE of LlamaCL's logits against llama.cpp's
over every prompt position of the three prompts (`llamacl eval --dump-logits`). Either way it
prints how far llama.cpp moves from itself when it feeds each prompt one token at a time
(LLAMACPP_UBATCH=1: its decode kernels instead of its prompt kernels), the floor any other
implementation can be held to.
"""
import gzip, json, os, subprocess, sys, tempfile
import jinja2
import numpy as np

model, humaneval, bin_dir = sys.argv[1:4]
llamacl = sys.argv[4] if len(sys.argv) > 4 else None
root = os.path.dirname(os.path.abspath(__file__))
out = os.path.normpath(os.path.join(root, "../../../Tests/ExperimentsTests/Fixtures/qwen2.5-coder-0.5b"))
os.makedirs(out, exist_ok=True)

# The model's template, from the GGUF (read by llama.cpp's gguf-py would do as well; LlamaCL's
# info only reads the metadata string, the rendering is jinja2's).
info = json.loads(subprocess.check_output([llamacl or "llamacl", "info", "-m", model, "--json"]))
template = jinja2.Environment(trim_blocks=True, lstrip_blocks=True).from_string(info["metadata"]["tokenizer.chat_template"])

# EvalPlus's instruct prompt (codegen's make_raw_chat_prompt) with its response prefix.
INSTRUCTION = "Please provide a self-contained Python script that solves the following problem in a markdown code block:"
RESPONSE = "Below is a Python script with a self-contained function that solves the problem and passes corresponding tests:"

def humaneval_prompt(problem):
    user = f"{INSTRUCTION}\n```\n{problem['prompt'].strip()}\n```\n"
    text = template.render(messages=[{"role": "user", "content": user}], add_generation_prompt=True)
    return text + f"{RESPONSE}\n```python\n"

problems = [json.loads(line) for line in gzip.open(humaneval, "rt")]
chat = template.render(messages=[{"role": "user", "content": "Write a Python function that tells whether a number is prime."}],
                       add_generation_prompt=True)
references = [
    ("completion", "def quicksort(arr):\n    \"\"\"Sort a list of numbers.\"\"\"\n"),
    ("chat", chat),
    ("unicode", "# Übersetzung: «Grüße» → greetings; 数字 = numbers\ndef greet(name: str) -> str:\n"),
]

with tempfile.TemporaryDirectory() as work:
    requests = os.path.join(work, "requests.jsonl")
    with open(requests, "w") as f:
        for p in problems:
            f.write(json.dumps({"id": p["task_id"].replace("/", "-"), "text": humaneval_prompt(p)}) + "\n")
        for name, text in references:
            f.write(json.dumps({"id": name, "text": text, "generate": 64, "logits": "all"}) + "\n")
    subprocess.check_call([os.path.join(bin_dir, "llamacpp-reference"), model, requests, work, "2"], stderr=subprocess.DEVNULL)
    answers = {a["id"]: a for a in map(json.loads, open(os.path.join(work, "answers.jsonl")))}
    one_by_one = os.path.join(work, "ubatch1")
    os.makedirs(one_by_one)
    with open(os.path.join(work, "references.jsonl"), "w") as f:
        for name, text in references:
            f.write(json.dumps({"id": name, "text": text, "generate": 64, "logits": "all"}) + "\n")
    subprocess.check_call([os.path.join(bin_dir, "llamacpp-reference"), model, os.path.join(work, "references.jsonl"), one_by_one, "2"],
                          stderr=subprocess.DEVNULL, env=dict(os.environ, LLAMACPP_UBATCH="1"))
    again = {a["id"]: a for a in map(json.loads, open(os.path.join(one_by_one, "answers.jsonl")))}

    with open(os.path.join(out, "humaneval-prompts.jsonl"), "w") as f:
        for p in problems:
            a = answers[p["task_id"].replace("/", "-")]
            f.write(json.dumps({"task_id": p["task_id"], "text": humaneval_prompt(p), "tokens": a["prompt_tokens"]}) + "\n")
    n_vocab = None
    with open(os.path.join(out, "greedy.jsonl"), "w") as f:
        for name, text in references:
            a = answers[name]
            f.write(json.dumps({"id": name, "text": text, "prompt_tokens": a["prompt_tokens"], "greedy_tokens": a["greedy_tokens"]}) + "\n")
            theirs = np.fromfile(os.path.join(work, f"{name}.logits.f32"), dtype="<f4").reshape(len(a["prompt_tokens"]), -1)
            n_vocab = theirs.shape[1]
            theirs[-1].astype("<f2").tofile(os.path.join(out, f"{name}.last-logits.f16"))
            self = np.fromfile(os.path.join(one_by_one, f"{name}.logits.f32"), dtype="<f4").reshape(theirs.shape).astype(np.float64)
            spread = ((self - theirs) ** 2).sum() / (theirs.astype(np.float64) ** 2).sum()
            print(f"{name}: llama.cpp one token at a time vs whole prompt: NMSE {spread:.3e}, "
                  f"greedy tokens {'identical' if again[name]['greedy_tokens'] == a['greedy_tokens'] else 'DIFFERENT'}")
            if llamacl:
                dump = os.path.join(work, f"{name}.ours.npy")
                subprocess.check_call([llamacl, "eval", "-m", model, "-t", "2", "--tokens", ",".join(map(str, a["prompt_tokens"])),
                                       "--dump-logits", dump], stdout=subprocess.DEVNULL)
                ours = np.load(dump).astype(np.float64)
                nmse = ((ours - theirs) ** 2).sum() / (theirs.astype(np.float64) ** 2).sum()
                last = ((ours[-1] - theirs[-1]) ** 2).sum() / (theirs[-1].astype(np.float64) ** 2).sum()
                print(f"{name}: {len(a['prompt_tokens'])} prompt tokens, NMSE vs llama.cpp {nmse:.3e} (all positions), {last:.3e} (last)")
    print(f"wrote {out} ({len(problems)} HumanEval prompts, {len(references)} greedy references, n_vocab {n_vocab})")
