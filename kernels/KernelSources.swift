/// The OpenCL C sources of this folder, embedded at build time by SwiftPM (`.embedInCode`), so
/// the binary never looks for kernels on disk. `common.cl` holds the helpers the others use and
/// comes first; the rest are one file per op family.
public enum KernelSources {
    /// The main program's files, (file name, source) in program order.
    public static let files: [(name: String, source: String)] = [
        common,
        ("embed.cl", text(PackageResources.embed_cl)),
        ("dequantize.cl", text(PackageResources.dequantize_cl)),
        ("rmsnorm.cl", text(PackageResources.rmsnorm_cl)),
        ("rope.cl", text(PackageResources.rope_cl)),
        ("attention.cl", text(PackageResources.attention_cl)),
        ("kv.cl", text(PackageResources.kv_cl)),
        ("swiglu.cl", text(PackageResources.swiglu_cl)),
        ("add.cl", text(PackageResources.add_cl)),
        ("gather.cl", text(PackageResources.gather_cl)),
        ("convert.cl", text(PackageResources.convert_cl)),
        ("argmax.cl", text(PackageResources.argmax_cl)),
    ]

    /// The decode products' files: built once per weight type with `-D WEIGHT_TYPE=<ggml id>`
    /// (`typedProgram`), so each weight layout is a compile-time constant in its kernels.
    public static let typedFiles: [(name: String, source: String)] = [
        common,
        ("matvec.cl", text(PackageResources.matvec_cl)),
        ("qkv.cl", text(PackageResources.qkv_cl)),
        ("ffn.cl", text(PackageResources.ffn_cl)),
    ]

    private static let common = ("common.cl", text(PackageResources.common_cl))

    /// Every file concatenated into one program, each introduced by a `#line` so build logs
    /// point at the right file and line.
    public static var program: String { concatenate(files) }

    /// The per-weight-type program's source (the type comes as a build option).
    public static var typedProgram: String { concatenate(typedFiles) }

    private static func concatenate(_ files: [(name: String, source: String)]) -> String {
        files.map { "#line 1 \"\($0.name)\"\n\($0.source)" }.joined(separator: "\n")
    }

    /// The name of every kernel of both programs, in program order (the `kernel void NAME(` lines):
    /// what verify's op checks must cover, one reference op each (CPUBackend's ReferenceOps).
    public static var kernelNames: [String] {
        (files + typedFiles.dropFirst()).flatMap { $0.source.split(separator: "\n") }.compactMap { line -> String? in
            guard line.hasPrefix("kernel void ") else { return nil }
            return String(line.dropFirst("kernel void ".count).prefix { $0 != "(" })
        }
    }

    private static func text(_ bytes: [UInt8]) -> String { String(decoding: bytes, as: UTF8.self) }
}
