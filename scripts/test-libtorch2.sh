#!/usr/bin/env bash
# Runs test projects against a shim built on libtorch 2.x, on a machine that only has 1.13: a newer Debian
# (LIBTORCH2_SUITE: trixie, libtorch 2.6, by default; sid had 2.14) is bootstrapped into build/<suite>-root once
# (debootstrap, 2 to 3 GB, needs root),
# the repository, the .NET SDK and the NuGet cache are bind-mounted into it, the shim is built there with CMake, and
# the already built test assemblies run there with RWTORCH_LIBRARY pointing at it. The root also gets the suite's
# PostgreSQL server, so the projects whose tests start one (Storage, Scorer, Trainer, ...) run there too; they are not
# among the defaults because they take longer.
#   make build && scripts/test-libtorch2.sh [TestProject ...]      (default: Torch Modeling Reweighting Text Contracts)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
suite=${LIBTORCH2_SUITE:-trixie}
target="$root/build/$suite-root"
projects=("${@:-Torch Modeling Reweighting Text Contracts}")
read -r -a projects <<< "${projects[*]}"
[ "$(id -u)" = 0 ] || { echo "error: needs root (debootstrap, chroot, bind mounts)" >&2; exit 1; }
dotnet_root=$(dirname "$(readlink -f "$(command -v dotnet)")")
if [ ! -f "$target/.ready" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q debootstrap >/dev/null
  echo "bootstrapping Debian $suite with libtorch-dev into $target (once) ..."
  debootstrap --variant=minbase --include=libtorch-dev,g++,cmake,make,ca-certificates,postgresql "$suite" "$target" \
    "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" > "$root/build/$suite-debootstrap.log" 2>&1 ||
    { echo "error: debootstrap failed; see build/$suite-debootstrap.log" >&2; exit 1; }
  touch "$target/.ready"
fi
if [ ! -d "$target/usr/lib/postgresql" ]; then  # roots bootstrapped before the server was part of them
  echo "installing PostgreSQL into $target (once) ..."
  chroot "$target" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
    bash -c 'apt-get update -q && apt-get install -y -q --no-install-recommends postgresql' > "$root/build/$suite-postgresql.log" 2>&1 ||
    { echo "error: installing PostgreSQL failed; see build/$suite-postgresql.log" >&2; exit 1; }
fi
mounts=()
cleanup() { for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount "${mounts[$i]}" 2>/dev/null || true; done; }
trap cleanup EXIT
bind() { mkdir -p "$target$2"; mount --bind "$1" "$target$2"; mounts+=("$target$2"); }
bind "$root" /work/repo
bind "$dotnet_root" /opt/dotnet
bind "${NUGET_PACKAGES:-$HOME/.nuget/packages}" /root/.nuget/packages
mkdir -p "$target/proc" && mount -t proc proc "$target/proc" && mounts+=("$target/proc")
chroot "$target" /usr/bin/env -i HOME=/root PATH=/opt/dotnet:/usr/sbin:/usr/bin:/sbin:/bin DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 \
  DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1 \
  bash -c 'set -e; cd /work/repo; scripts/build-native.sh "build/native-$0" | tail -1
    export RWTORCH_LIBRARY="/work/repo/build/native-$0/librwtorch.so"
    dotnet src/Cli/bin/Release/net10.0/reweight.dll torch info | grep -E "libtorch|fused"
    status=0
    for p in "$@"; do
      out=$(dotnet test "tests/$p.Tests/$p.Tests.csproj" -c Release --no-build 2>&1) || status=1
      echo "$out" | grep -E "Passed!|Failed!|\[FAIL\]|error" || { echo "$out" | tail -20; status=1; }
    done
    exit $status' "$suite" "${projects[@]}"
