#!/bin/sh
# The `ddil` command of a release bundle (#27): runs the bundle's own Node on the bundle's
# own code and packages, nothing of the host's (no Node, npm or node_modules needed). Shell
# built-ins only, so it works with any PATH; it follows a symlink to itself (for example
# /usr/local/bin/ddil -> /opt/ddil/current/bin/ddil) with readlink.
self=$0
case $self in
  */*) ;;
  *) self=$(command -v -- "$self") || { echo "ddil: cannot find where this launcher is; run it by its path" >&2; exit 2; } ;;
esac
while [ -h "$self" ]; do
  target=$(readlink -- "$self") || { echo "ddil: cannot follow the symlink $self (no readlink on PATH); run the bundle's bin/ddil by its path" >&2; exit 2; }
  case $target in
    /*) self=$target ;;
    *) self=${self%/*}/$target ;;
  esac
done
root=${self%/*}/..
exec "$root/runtime/bin/node" "$root/app/node/cli/bin.js" "$@"
