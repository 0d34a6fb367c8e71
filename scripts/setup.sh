#!/usr/bin/env bash
# uvhost developer/CI setup: host packages, guest kernel, guest initramfs.
#
# Idempotent: every step checks whether its result is already there and
# skips itself if so.  Works without stdin (CI=true).  Run as root (or with
# passwordless sudo) the first time so that missing packages can be installed.
#
# Result (paths relative to the repo root):
#   build/guest/kernel/          unpacked Debian cloud kernel package
#                                (boot/, lib/modules/<kver>/ with modules.dep)
#   build/guest/vmlinuz          symlink to the kernel image
#   build/guest/uvdio            static guest I/O helper (tests/interop/guest/uvdio.c)
#   build/guest/uvvsock          static guest vsock helper (tests/interop/guest/uvvsock.c)
#   build/guest/initramfs.cpio.gz  busybox initramfs running tests/interop/guest/*.sh
#
# Environment knobs:
#   UVTEST_KERNEL_PKG   exact kernel package to use (default: whatever
#                       linux-image-cloud-amd64 depends on)
#   UVTEST_SKIP_PACKAGES=1  do not check/install Debian packages
#   UVTEST_FORCE_INITRAMFS=1 rebuild the initramfs even if inputs are unchanged
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GUEST_DIR="$ROOT/build/guest"
KDIR="$GUEST_DIR/kernel"
INTEROP="$ROOT/tests/interop"
export DEBIAN_FRONTEND=noninteractive

say() { printf '[setup] %s\n' "$*"; }
die() { printf '[setup] ERROR: %s\n' "$*" >&2; exit 1; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; fi
fi

# ---------------------------------------------------------------- packages --
PACKAGES=(
    cmake make clang libclang-rt-14-dev gcc libc6-dev libcmocka-dev
    qemu-system-x86 qemu-utils qemu-block-extra qemu-system-common
    busybox-static cpio gzip xz-utils python3
    gnuplot-nox clang-format cppcheck liburing-dev fio
    gcc-aarch64-linux-gnu picolibc-aarch64-linux-gnu qemu-system-arm
    gcc-arm-none-eabi libnewlib-arm-none-eabi picolibc-arm-none-eabi
    libc6-dev-i386 lib32gcc-12-dev lib32asan8 lib32ubsan1
    linux-libc-dev:i386 libcmocka-dev:i386 qemu-user
)

APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        say "apt-get update"
        $SUDO apt-get update -q >/dev/null
        APT_UPDATED=1
    fi
}

is_installed() {
    # no "| grep -q": with pipefail, dpkg -s dying of SIGPIPE would read as
    # "not installed"
    # With an i386 instance installed too, a bare name is ambiguous to dpkg:
    # then ask for the native one (architecture-independent packages answer
    # to the bare name only).
    local st
    st="$(dpkg -s "$1" 2>/dev/null)" ||
        st="$(dpkg -s "$1:$(dpkg --print-architecture)" 2>/dev/null)" || return 1
    [[ "$st" == *"Status: install ok installed"* ]]
}

# The -m32 unit tests (build/host32) need i386 packages (cmocka, kernel
# headers) next to the amd64 ones. Not gcc-multilib: Debian makes it conflict
# with the aarch64 cross compiler.
enable_i386() {
    if dpkg --print-foreign-architectures | grep -qx i386; then
        return
    fi
    say "dpkg: adding the i386 architecture (for the -m32 unit tests)"
    $SUDO dpkg --add-architecture i386
    APT_UPDATED=0
}

install_packages() {
    local missing=() p
    enable_i386
    for p in "${PACKAGES[@]}"; do
        is_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        say "packages: all ${#PACKAGES[@]} present"
        return
    fi
    say "packages: installing ${missing[*]}"
    apt_update_once
    $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null >/dev/null \
        || die "apt-get install failed for: ${missing[*]}"
    say "packages: done"
}

# ------------------------------------------------------------------ kernel --
resolve_kernel_pkg() {
    if [ -n "${UVTEST_KERNEL_PKG:-}" ]; then
        echo "$UVTEST_KERNEL_PKG"
        return
    fi
    local pkg=""
    pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
           awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')" || true
    if [ -z "$pkg" ]; then
        apt_update_once
        pkg="$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
               awk '$1 == "Depends:" && $2 ~ /^linux-image-[0-9]/ { print $2; exit }')" || true
    fi
    [ -n "$pkg" ] || die "cannot resolve the package behind linux-image-cloud-amd64"
    echo "$pkg"
}

kernel_version() {
    # The single directory under lib/modules of the unpacked package.
    local d
    for d in "$KDIR"/lib/modules/*/; do
        [ -d "$d" ] && basename "$d" && return
    done
    return 1
}

fetch_kernel() {
    if [ -f "$KDIR/.unpacked" ] && [ -e "$GUEST_DIR/vmlinuz" ]; then
        say "kernel: present ($(cat "$KDIR/.unpacked"))"
        return
    fi
    local pkg dl deb kver
    pkg="$(resolve_kernel_pkg)"
    say "kernel: downloading $pkg"
    dl="$GUEST_DIR/dl"
    rm -rf "$dl" "$KDIR"
    mkdir -p "$dl" "$KDIR"
    local aptopt=()
    [ "$(id -u)" -eq 0 ] && aptopt=(-o APT::Sandbox::User=root)
    (cd "$dl" && apt-get download -q "${aptopt[@]}" "$pkg" >/dev/null) \
        || die "apt-get download $pkg failed"
    deb="$(ls "$dl"/*.deb | head -n1)"
    say "kernel: unpacking $(basename "$deb")"
    dpkg-deb -x "$deb" "$KDIR"
    kver="$(kernel_version)" || die "no lib/modules/<version> in $pkg"
    [ -f "$KDIR/boot/vmlinuz-$kver" ] || die "no boot/vmlinuz-$kver in $pkg"
    # The package ships no modules.dep (depmod runs in its postinst).
    busybox depmod -b "$KDIR" "$kver"
    ln -sfn "kernel/boot/vmlinuz-$kver" "$GUEST_DIR/vmlinuz"
    rm -rf "$dl"
    echo "$pkg $kver" >"$KDIR/.unpacked"
    say "kernel: $kver ready at build/guest/vmlinuz"
}

# ---------------------------------------------------------- guest helpers --
# build_guest_tool NAME: tests/interop/guest/NAME.c -> build/guest/NAME (static)
build_guest_tool() {
    local name="$1" src="$INTEROP/guest/$1.c" out="$GUEST_DIR/$1"
    if [ -x "$out" ] && [ "$out" -nt "$src" ]; then
        say "$name: up to date"
        return
    fi
    say "$name: building static guest helper"
    gcc -static -O2 -Wall -Wextra -o "$out.tmp" "$src"
    mv "$out.tmp" "$out"
}

build_uvdio() {
    build_guest_tool uvdio
    build_guest_tool uvvsock
}

# --------------------------------------------------------------- initramfs --
# Modules the guest needs if the kernel has them as modules (=m).  Built-in
# ones (=y) are skipped.  Dependencies come from modules.dep.
GUEST_MODULES=(virtio_pci virtio_blk virtio_rng virtio_console
               vmw_vsock_virtio_transport)

module_path() {
    # module name -> path relative to lib/modules/<kver>, "" if not a module
    local kver="$1" name="$2" alt
    alt="${name//_/-}"
    awk -F: -v a="$name" -v b="$alt" '{
            n = $1; sub(/.*\//, "", n); sub(/\.ko(\.[a-z]+)?$/, "", n);
            if (n == a || n == b) { print $1; exit }
        }' "$KDIR/lib/modules/$kver/modules.dep"
}

module_closure() {
    # module path -> itself plus every dependency (paths), from modules.dep
    local kver="$1" path="$2"
    awk -F: -v p="$path" '$1 == p { print $1; n = split($2, d, " ");
            for (i = 1; i <= n; i++) print d[i] }' \
        "$KDIR/lib/modules/$kver/modules.dep"
}

config_value() {
    local kver="$1" sym="$2"
    sed -n "s/^$sym=\(.*\)$/\1/p" "$KDIR/boot/config-$kver"
}

initramfs_inputs_hash() {
    local kver="$1"
    {
        echo "kernel $kver"
        echo "modules ${GUEST_MODULES[*]}"
        sha256sum "$INTEROP/guest-init.sh" "$GUEST_DIR/uvdio" "$GUEST_DIR/uvvsock" \
                  "$(command -v busybox)" \
                  "${BASH_SOURCE[0]}"
        find "$INTEROP/guest" -maxdepth 1 -type f -name '*.sh' -print0 | sort -z |
            xargs -0 -r sha256sum
    } | sha256sum | cut -d' ' -f1
}

build_initramfs() {
    local kver out stamp hash stage mods=() m p q
    kver="$(kernel_version)" || die "kernel not unpacked"
    out="$GUEST_DIR/initramfs.cpio.gz"
    stamp="$GUEST_DIR/initramfs.inputs"
    hash="$(initramfs_inputs_hash "$kver")"
    if [ -z "${UVTEST_FORCE_INITRAMFS:-}" ] && [ -f "$out" ] && [ -f "$stamp" ] &&
       [ "$(cat "$stamp")" = "$hash" ]; then
        say "initramfs: up to date"
        return
    fi
    say "initramfs: building"
    stage="$(mktemp -d "$GUEST_DIR/initramfs.stage.XXXXXX")"
    STAGE_TO_CLEAN="$stage"

    local bb
    bb="$(command -v busybox)" || die "busybox not found (package busybox-static)"
    if ldd "$bb" >/dev/null 2>&1; then
        die "$bb is dynamically linked; install busybox-static"
    fi
    mkdir -p "$stage"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,mnt,tests,etc}
    cp "$bb" "$stage/bin/busybox"
    local applet
    for applet in $("$stage/bin/busybox" --list); do
        [ "$applet" = busybox ] && continue
        ln -sf busybox "$stage/bin/$applet"
    done
    cp "$GUEST_DIR/uvdio" "$stage/bin/uvdio"
    cp "$GUEST_DIR/uvvsock" "$stage/bin/uvvsock"
    install -m 0755 "$INTEROP/guest-init.sh" "$stage/init"
    install -m 0755 "$INTEROP"/guest/*.sh "$stage/tests/"
    echo "$kver" >"$stage/etc/uvtest-kernel"

    # Kernel modules: copy the closure of every wanted =m module.
    local mdir="$stage/lib/modules/$kver" report=()
    mkdir -p "$mdir"
    for m in "${GUEST_MODULES[@]}"; do
        p="$(module_path "$kver" "$m")"
        if [ -z "$p" ]; then
            report+=("$m=builtin/absent")
            continue
        fi
        report+=("$m=m")
        for q in $(module_closure "$kver" "$p"); do
            mods+=("$q")
        done
    done
    local seen=" "
    for q in "${mods[@]}"; do
        case "$seen" in *" $q "*) continue ;; esac
        seen="$seen$q "
        mkdir -p "$mdir/$(dirname "$q")"
        case "$q" in
            # busybox insmod cannot load compressed modules: decompress here.
            *.ko.xz)  xz -dc "$KDIR/lib/modules/$kver/$q" >"$mdir/${q%.xz}" ;;
            *.ko.zst) zstd -qdc "$KDIR/lib/modules/$kver/$q" >"$mdir/${q%.zst}" ;;
            *.ko.gz)  gzip -dc "$KDIR/lib/modules/$kver/$q" >"$mdir/${q%.gz}" ;;
            *)        cp "$KDIR/lib/modules/$kver/$q" "$mdir/$q" ;;
        esac
    done
    cp "$KDIR/lib/modules/$kver/modules.builtin" "$mdir/" 2>/dev/null || true
    busybox depmod -b "$stage" "$kver"
    say "initramfs: modules ${report[*]} (hw_random core: $(config_value "$kver" CONFIG_HW_RANDOM))"

    (cd "$stage" && find . -print0 | LC_ALL=C sort -z |
        cpio --null -o -H newc --quiet) | gzip -6 -n >"$out.tmp"
    mv "$out.tmp" "$out"
    rm -rf "$stage"
    STAGE_TO_CLEAN=""
    echo "$hash" >"$stamp"
    say "initramfs: $(du -h "$out" | cut -f1) at build/guest/initramfs.cpio.gz"
}

# -------------------------------------------------------------------- main --
STAGE_TO_CLEAN=""
trap 'if [ -n "$STAGE_TO_CLEAN" ]; then rm -rf "$STAGE_TO_CLEAN"; fi' EXIT
if [ -z "${UVTEST_SKIP_PACKAGES:-}" ]; then
    install_packages
fi
mkdir -p "$GUEST_DIR"
fetch_kernel
build_uvdio
build_initramfs
say "done"
