import Foundation

/// RoPE parameters shared by every layer.
public struct RopeParams: Sendable, Equatable {
    public var base: Float
    public var dims: Int          // rotated dimensions per head
    public var style: RopeStyle
    public var positionScale: Float
    public init(base: Float, dims: Int, style: RopeStyle, positionScale: Float = 1) {
        self.base = base; self.dims = dims; self.style = style; self.positionScale = positionScale
    }

    /// cos and sin of the angle of rotation pair i at `position`:
    /// θ = position · scale · base^(−2i/dims) / factor (factor: Llama 3 frequency factor i, else 1).
    ///
    /// The one place this formula lives: the CPU reference and fast paths, the OpenCL backend's
    /// host-side table and training all call it. It is computed in Double and rounded to Float
    /// once, so every caller gets the same bits and large positions do not drift (Float pow,
    /// sin and cos would lose the angle's low bits at positions in the tens of thousands).
    /// With scale 1 and factor 1 the multiplication and division are exact, so it is also
    /// θ = position · base^(−2i/dims), the plain llama formula.
    @inlinable
    public func angle(position: Int, pair i: Int, factor: Float = 1) -> (cos: Float, sin: Float) {
        let theta = Double(position) * Double(positionScale) * pow(Double(base), -2 * Double(i) / Double(dims)) / Double(factor)
        return (Float(cos(theta)), Float(sin(theta)))
    }
}
