#!/usr/bin/env bash
# Builds the runner image's base without a registry or a container engine: a Java runtime made by jlink
# from the building JDK, at /opt/java/openjdk as in eclipse-temurin images (java on PATH, JAVA_HOME), the
# shared libraries it needs copied from the building machine (on Debian, Debian's packages: libc6, zlib1g,
# libstdc++6...), an unprivileged user (65532, "runner") and the Python runner's /workspace folders; no
# shell, no package manager. The result is a `docker save` tarball that Jib takes as its base (tar://).
#
# Usage: build-base-image.sh OUTPUT_DIRECTORY [JAVA_HOME]
#   writes OUTPUT_DIRECTORY/base-image.tar; does nothing when the tarball there was made by this script,
#   from the same JDK, already, and copies it from the cache (MODEL_RUNNER_BASE_CACHE, default
#   ~/.cache/model-runner/base-image) when it was made there. Linux only: the libraries come from the
#   machine that builds.
set -euo pipefail

out="${1:?usage: build-base-image.sh OUTPUT_DIRECTORY [JAVA_HOME]}"
java_home="${2:-${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v java)")")")}}"
jlink="$java_home/bin/jlink"
[ -x "$jlink" ] || { echo "build-base-image: no jlink in $java_home (a JDK is needed, not a JRE)" >&2; exit 1; }
[ -d "$java_home/jmods" ] || { echo "build-base-image: $java_home has no jmods folder for jlink" >&2; exit 1; }
[ "$(uname -s)" = Linux ] || { echo "build-base-image: the base is made from this machine's libraries: Linux only" >&2; exit 1; }

# The modules of a server JRE: Java SE, plus what libraries commonly reach for (Unsafe, EC and PKCS#11
# crypto, zip file systems, charsets, the JDK's HTTP server, management and flight recording, DNS);
# without the development tools (compiler, jshell, jlink) and without non-English locale data.
modules=java.se,jdk.unsupported,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.zipfs,jdk.charsets,jdk.httpserver
modules=$modules,jdk.management,jdk.management.jfr,jdk.jfr,jdk.naming.dns,jdk.net,jdk.security.auth
modules=$modules,jdk.security.jgss,jdk.xml.dom,jdk.random,jdk.nio.mapmode
# The runtime is headless: the AWT libraries that need X11 are left out (java.awt.headless=true).
exclude='**/libawt_xawt.so,**/libsplashscreen.so,**/libjawt.so'

case "$(uname -m)" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  *) arch="$(uname -m)" ;;
esac
java_version="$("$java_home/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.runtime.version = //p')"
script_sum="$(sha256sum "$0" | cut -c1-16)"
stamp="script $script_sum; jdk $java_home $java_version; arch $arch"
if [ -f "$out/base-image.tar" ] && [ "$(cat "$out/stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "build-base-image: $out/base-image.tar is up to date"
  exit 0
fi
# A base made before from the same inputs (another clone, a cleaned target) is taken from the cache.
cache="${MODEL_RUNNER_BASE_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/model-runner/base-image}"
key="$(echo "$stamp" | sha256sum | cut -c1-16)"
if [ -f "$cache/$key/base-image.tar" ] && [ "$(cat "$cache/$key/stamp" 2>/dev/null)" = "$stamp" ]; then
  mkdir -p "$out"
  cp "$cache/$key/base-image.tar" "$out/base-image.tar.part" && mv "$out/base-image.tar.part" "$out/base-image.tar"
  echo "$stamp" >"$out/stamp"
  echo "build-base-image: $out/base-image.tar from the cache $cache/$key"
  exit 0
fi

work="$out/work"
rm -rf "$work" "$out/base-image.tar" "$out/stamp"
root="$work/rootfs"
mkdir -p "$root/opt/java" "$root/usr/bin" "$root/usr/lib" "$root/usr/lib64" "$root/etc" \
  "$root/workspace/submission/code" "$root/workspace/resources" "$root/workspace/certificates" \
  "$root/home/runner" "$root/tmp"
# The merged /usr of current Debian: /bin, /lib and /lib64 are links into /usr.
ln -s usr/bin "$root/bin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"
chmod 1777 "$root/tmp"

"$jlink" --add-modules "$modules" --exclude-files="$exclude" --no-header-files --no-man-pages \
  --generate-cds-archive --output "$root/opt/java/openjdk"

# Every shared library the runtime's executables and libraries need, as the dynamic loader finds them on
# this machine, copied (links resolved) to the same path under /usr.
libraries="$(
  find "$root/opt/java/openjdk" -type f \( -name '*.so' -o -perm -u+x \) -print0 |
    xargs -0 -n 20 ldd 2>/dev/null |
    sed -n -e 's/^.*=> \(\/[^ ]*\) (0x[0-9a-f]*)$/\1/p' -e 's/^[[:space:]]*\(\/[^ ]*\) (0x[0-9a-f]*)$/\1/p' |
    grep -v "^$root" | sort -u
)"
[ -n "$libraries" ] || { echo "build-base-image: ldd found no library (is ldd installed?)" >&2; exit 1; }
# The parts of the C library that Netty's native epoll (which the runner uses) links besides those the
# runtime needs, from the C library's own folder.
libc_dir="$(dirname "$(echo "$libraries" | grep '/libc\.so\.6$' | head -n1)")"
for extra in libdl.so.2 librt.so.1; do
  if [ -e "$libc_dir/$extra" ]; then
    libraries="$(printf '%s\n%s/%s' "$libraries" "$libc_dir" "$extra" | sort -u)"
  fi
done
packages=""
for library in $libraries; do
  target="$root/usr/${library#/usr/}"
  mkdir -p "$(dirname "$target")"
  cp -L "$library" "$target"
  if command -v dpkg-query >/dev/null 2>&1; then
    # dpkg knows a file by the path its package installed it at: before or after the merge into /usr.
    package="$( (dpkg-query -S "$library" || dpkg-query -S "$(readlink -f "$library")" ||
      dpkg-query -S "/usr$library") 2>/dev/null | head -n1 | cut -d: -f1 || true)"
    [ -z "$package" ] || packages="$packages $package=$(dpkg-query -W -f='${Version}' "$package" 2>/dev/null || true)"
  fi
done
packages="$(echo "$packages" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ' | sed 's/ $//')"
missing="$(
  find "$root/opt/java/openjdk" -type f \( -name '*.so' -o -perm -u+x \) -print0 |
    LD_LIBRARY_PATH="$root/usr/lib/$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)" xargs -0 -n 20 ldd 2>/dev/null |
    grep 'not found' | grep -v 'libjvm.so' || true
)"
[ -z "$missing" ] || { echo "build-base-image: libraries not found: $missing" >&2; exit 1; }

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/sbin/nologin
runner:x:65532:65532:model runner:/home/runner:/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
runner:x:65532:
nogroup:x:65534:
EOF
printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$root/etc/nsswitch.conf"
printf 'Java runtime %s (jlink) on the shared libraries of %s\npackages: %s\n' "$java_version" \
  "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME" || uname -sr)" "${packages:-unknown}" \
  >"$root/etc/model-runner-base"

# One layer, owned by root (the runner's home and the code folders too: the runner only reads them),
# with fixed times so that the same inputs give the same layer.
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime='1970-01-01 00:00:00Z' --format=gnu \
  -C "$root" -cf "$work/layer.tar" .
diff_id="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
cat >"$work/config.json" <<EOF
{"architecture":"$arch","os":"linux","created":"1970-01-01T00:00:00Z",
 "config":{"Env":["PATH=/opt/java/openjdk/bin:/usr/bin:/bin","JAVA_HOME=/opt/java/openjdk","LANG=C.UTF-8"],
  "WorkingDir":"/","Labels":{"org.modelrunner.base.java":"$java_version","org.modelrunner.base.packages":"$packages"}},
 "rootfs":{"type":"layers","diff_ids":["$diff_id"]},
 "history":[{"created":"1970-01-01T00:00:00Z","created_by":"runner-image/src/base/build-base-image.sh"}]}
EOF
# The layer is compressed once here, so that Jib takes it as it is instead of compressing it on every build.
gzip -n -6 "$work/layer.tar"
printf '[{"Config":"config.json","RepoTags":["model-runner-base:local"],"Layers":["layer.tar.gz"]}]\n' \
  >"$work/manifest.json"
tar --owner=0 --group=0 --numeric-owner --mtime='1970-01-01 00:00:00Z' -C "$work" \
  -cf "$out/base-image.tar" manifest.json config.json layer.tar.gz
rm -rf "$work"
echo "$stamp" >"$out/stamp"
# Into the cache (only the latest base is kept); a cache that cannot be written is no error.
# Only the folders this script made (named by a 16-digit key) are removed.
if mkdir -p "$cache" 2>/dev/null &&
  find "$cache" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended -regex '.*/[0-9a-f]{16}' \
    ! -name "$key" -exec rm -rf {} + &&
  mkdir -p "$cache/$key" && cp "$out/base-image.tar" "$out/stamp" "$cache/$key/" 2>/dev/null; then
  :
else
  echo "build-base-image: could not cache the base in $cache" >&2
fi
echo "build-base-image: $out/base-image.tar ($(du -m "$out/base-image.tar" | cut -f1) MB): Java $java_version, $arch"
