#!/usr/bin/env bash
# Installs the Debian 12 packages libeventactors needs to build, test and run.
# Idempotent: packages already present are skipped. Run as root (or via sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libcaf-dev                      # CAF 0.17.6: core, io, openssl
  libboost-json1.81-dev           # Boost.JSON 1.81
  libsqlite3-dev sqlite3          # SQLite 3.40 (the CLI helps inspecting files)
  libspdlog-dev libfmt-dev        # spdlog 1.10 with fmt 9
  catch2                          # Catch2 2.13, single header
  libssl-dev                      # OpenSSL: payload encryption (libcrypto), node TLS (libssl)
  libcli11-dev                    # CLI11 2.1, the eventactors command line
  doxygen                         # the API reference (docs target)
  clang libclang-rt-14-dev        # clang 14 with libFuzzer and sanitizers (fuzz/)
  libre2-dev                      # RE2: linear-time regular expressions (match validations)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
