/// What this build of LlamaCL is: the release number and the source revision it was built
/// from (`sourceRevision` and `sourceTreeDirty` come from SourceRevisionPlugin).
public enum BuildInfo {
    public static let release = "0.1.0"
    /// The git revision (12 hex digits), or "unknown" outside a checkout.
    public static let revision = sourceRevision
    /// True when the tree had uncommitted changes to tracked files at build time.
    public static let dirty = sourceTreeDirty
    /// "0.1.0+3f2a9c1b0d4e", with "-dirty" when built from uncommitted changes: what result
    /// files record as `engine_version`.
    public static var engineVersion: String { version(release: release, revision: revision, dirty: dirty) }

    /// The one spelling of a build's version, so that a dirty tree shows wherever a version is
    /// printed or recorded: "RELEASE+REVISION", with "-dirty" when built from uncommitted changes.
    public static func version(release: String, revision: String, dirty: Bool) -> String {
        "\(release)+\(revision)\(dirty ? "-dirty" : "")"
    }
}
