# Shared by the ufs-native stand-ins in this directory (sourced, not run).
# UFS_NATIVE_STANDIN_LOG    file: every call is appended as one line, "name argv..."
#                           (<log>.lofi and <log>.mounts hold what is attached/mounted)
# UFS_NATIVE_STANDIN_FAIL   step that fails: mkfile, lofiadm-a, newfs, mount, umount,
#                           lofiadm-d, or pfexec (fails whatever pfexec would run)
# UFS_NATIVE_STANDIN_TREE   file: umount writes there what was in the mount point
standin_log() {
  if [ -n "$UFS_NATIVE_STANDIN_LOG" ]; then echo "$*" >>"$UFS_NATIVE_STANDIN_LOG"; fi
}
standin_fail_if() {
  if [ "$UFS_NATIVE_STANDIN_FAIL" = "$1" ]; then
    echo "$1 (stand-in): told to fail" >&2
    echo "$1 (stand-in): I/O error" >&2
    exit 33
  fi
}
standin_state() { echo "${UFS_NATIVE_STANDIN_LOG:-/dev/null}.$1"; }
