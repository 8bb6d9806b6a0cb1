/// A switch for comparing two versions of a kernel in one process: while trying a change, the kernel
/// reads `variant` to pick the old or the new code, and `onyx bench --variants 2` alternates it run by
/// run. Both versions then see the same machine state; on a shared VM, separate processes a few
/// seconds apart differ by more than most kernel changes. Committed kernels do not read it.
public enum KernelExperiment {
    nonisolated(unsafe) public static var variant = 0
}
