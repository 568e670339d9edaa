/// The engine's version; part of every kernel cache key.
public enum SENetGPUVersion {
    public static let string = "0.1.0"
}
