package io.silk.netlink;

/** A netlink or system call the kernel refused, with the operation and errno. */
public final class NetlinkException extends RuntimeException {

    public static final int ENOENT = 2;
    public static final int ESRCH = 3;
    public static final int EEXIST = 17;
    public static final int ENODEV = 19;

    private final int errno;

    public NetlinkException(String operation, int errno) {
        super(operation + ": " + describe(errno));
        this.errno = errno;
    }

    public int errno() {
        return errno;
    }

    public boolean notFound() {
        return errno == ENOENT || errno == ENODEV || errno == ESRCH;
    }

    public boolean exists() {
        return errno == EEXIST;
    }

    static String describe(int errno) {
        String name = switch (errno) {
            case 1 -> "EPERM (operation not permitted; run as root)";
            case 2 -> "ENOENT (no such file or entry)";
            case 3 -> "ESRCH (no such entry)";
            case 13 -> "EACCES (permission denied)";
            case 16 -> "EBUSY (device or resource busy)";
            case 17 -> "EEXIST (already exists)";
            case 19 -> "ENODEV (no such device)";
            case 22 -> "EINVAL (invalid argument)";
            case 34 -> "ERANGE (out of range)";
            case 95 -> "EOPNOTSUPP (not supported)";
            case 98 -> "EADDRINUSE (address in use)";
            case 101 -> "ENETUNREACH (network unreachable)";
            default -> "errno " + errno;
        };
        return name;
    }
}
