"""Kernel restrictions for a session child: rlimits and a seccomp allow-list, from the policy.

A CPython interpreter that has finished importing needs very few system calls to run pure
Python: memory, its two pipes, clocks, signals, exit. Everything else is refused. Calls a
snippet might plausibly make (open a file, create a socket or a process, send a signal) fail
with EPERM, which Python turns into a clean ``PermissionError``; calls nothing legitimate
makes (ptrace, mount, kexec, bpf...) kill the process on the spot.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import platform
import resource
from dataclasses import dataclass
from typing import Any

from engine.policy.model import Policy

#: Fixed descriptor numbers of the child's two pipe ends.
CHILD_IN_FD = 3
CHILD_OUT_FD = 4

_PR_SET_PDEATHSIG = 1
_PR_SET_DUMPABLE = 4
_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38

SUPPORTED_MACHINES = ("x86_64", "aarch64")

#: What a running interpreter needs (besides read/write on its pipes and memory mapping).
_ALLOWED = (
    "brk", "munmap", "mremap",
    "futex", "sched_yield", "getrandom",
    "clock_gettime", "clock_getres", "gettimeofday", "time", "nanosleep", "clock_nanosleep",
    "getrusage", "times",
    "rt_sigreturn", "rt_sigprocmask", "rt_sigaction", "sigaltstack", "restart_syscall",
    "getpid", "gettid", "exit", "exit_group",
    "select", "pselect6", "poll", "ppoll",  # waiting on the pipe it already has
    "close",
)

_MAP_LOCKED = 0x2000
#: madvise() advice a process may give about its own memory (the allocator uses DONTNEED and
#: FREE); the rest (HWPOISON, SOFT_OFFLINE, MERGEABLE, DONTFORK...) is refused.
_MADVISE = (0, 1, 2, 3, 4, 8, 14, 15, 16, 17)  # NORMAL..DONTNEED, FREE, (NO)HUGEPAGE, (DO)DUMP

# Everything else is refused with EPERM (the filter's default): open/openat, socket/connect,
# fork/clone/execve, kill/tgkill, prlimit64, dup, ioctl, uname... so a snippet gets a clean error.

#: Nothing legitimate asks for these: the process is killed.
_KILLED = (
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
    "chroot", "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "bpf", "perf_event_open", "keyctl", "add_key", "request_key",
    "userfaultfd", "io_uring_setup", "io_uring_enter", "io_uring_register", "unshare",
    "setns", "reboot", "swapon", "swapoff", "acct", "quotactl", "personality",
    "open_by_handle_at", "name_to_handle_at", "seccomp",
)

_NETWORK = (
    "socket", "connect", "sendto", "recvfrom", "sendmsg", "recvmsg", "getsockopt",
    "setsockopt", "getsockname", "getpeername", "shutdown", "poll", "ppoll", "select",
    "pselect6", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "fcntl",
)


def unavailable_reason() -> str | None:
    """Why seccomp cannot be used here, or None when it can."""
    if platform.system() != "Linux":
        return f"the sandbox needs Linux; this is {platform.system()}"
    if platform.machine() not in SUPPORTED_MACHINES:
        return f"the sandbox supports {', '.join(SUPPORTED_MACHINES)}; this is {platform.machine()}"
    try:
        import pyseccomp  # noqa: F401
    except Exception as exc:  # missing package or no libseccomp.so.2
        return f"libseccomp cannot be loaded ({exc}); install the system package libseccomp2"
    return None


def build_filter(policy: Policy) -> Any:
    """The seccomp filter for this policy (built once; each child only loads it)."""
    import pyseccomp as sc

    filt = sc.SyscallFilter(defaction=sc.ERRNO(errno.EPERM))
    arch = sc.system_arch()

    def rule(action: int, name: str, *args: Any) -> None:
        try:
            sc.resolve_syscall(arch, name)
        except Exception:
            return  # not a system call on this architecture (e.g. open on aarch64)
        filt.add_rule(action, name, *args)

    no_exec = sc.Arg(2, sc.MASKED_EQ, mmap.PROT_EXEC, 0)
    # Never executable memory, and never locked memory: the child runs as root on some
    # hosts, where RLIMIT_MEMLOCK alone would not bind.
    not_locked = sc.Arg(3, sc.MASKED_EQ, _MAP_LOCKED, 0)
    rule(sc.ALLOW, "mmap", no_exec, not_locked)
    rule(sc.ALLOW, "mprotect", no_exec)
    for advice in _MADVISE:  # not MADV_HWPOISON and friends, which act on shared pages
        rule(sc.ALLOW, "madvise", sc.Arg(2, sc.EQ, advice))
    for name in _ALLOWED:
        rule(sc.ALLOW, name)
    if policy.sandbox.network:
        rule(sc.ALLOW, "read")
        rule(sc.ALLOW, "write")
        for name in _NETWORK:
            rule(sc.ALLOW, name)
    else:
        rule(sc.ALLOW, "read", sc.Arg(0, sc.EQ, CHILD_IN_FD))
        rule(sc.ALLOW, "write", sc.Arg(0, sc.EQ, CHILD_OUT_FD))
    for name in _KILLED:
        rule(sc.KILL_PROCESS, name)
    return filt


@dataclass(frozen=True)
class ResourcePlan:
    """The rlimits of a session child, in absolute values."""

    address_space: int
    cpu_seconds: int

    @classmethod
    def for_policy(cls, policy: Policy) -> ResourcePlan:
        # The child starts as a copy of the zygote, so its own size is the baseline.
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[0])
        baseline = pages * os.sysconf("SC_PAGE_SIZE")
        limits = policy.limits
        return cls(address_space=baseline + limits.memory_mb * 1024 * 1024,
                   cpu_seconds=max(1, int(limits.cpu_seconds + 0.999)))

    def apply(self) -> None:
        infinity = resource.RLIM_INFINITY
        resource.setrlimit(resource.RLIMIT_AS, (self.address_space, self.address_space))
        # The hard CPU limit stays open so that the parent can grant each snippet its own
        # budget with prlimit(); the child itself can no longer call setrlimit.
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, infinity))
        resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # binds non-root; the filter binds all
        resource.setrlimit(resource.RLIMIT_NOFILE, (CHILD_OUT_FD + 1, CHILD_OUT_FD + 1))
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))


_LIBC = ctypes.CDLL(None, use_errno=True)


def _prctl(option: int, value: int) -> None:
    if _LIBC.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option}) failed")


def die_with_parent() -> None:
    import signal

    _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32)]


_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def drop_capabilities() -> None:
    """No capabilities at all, now or after any exec: root in the child is an ordinary uid."""
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except (OSError, ValueError):
        last = 40
    for cap in range(last + 1):
        _LIBC.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)  # EPERM without CAP_SETPCAP: nothing held
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if _LIBC.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def shed_privileges() -> None:
    """No capabilities and not dumpable (no core; no other process of the same user may
    ptrace it or read its memory through /proc). Done once in the zygote: every session child
    inherits both through fork."""
    drop_capabilities()
    _prctl(_PR_SET_DUMPABLE, 0)


def lock_down(seccomp_filter: Any) -> None:
    """No new privileges, then the filter: from here on the allow-list is the process's
    world (capabilities are already gone: ``shed_privileges``)."""
    _prctl(_PR_SET_NO_NEW_PRIVS, 1)
    if seccomp_filter is not None:
        seccomp_filter.load()
