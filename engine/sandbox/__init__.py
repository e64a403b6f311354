"""Stage 4: execution in a forked, seccomp- and rlimit-restricted child with brokered tools."""
