# Sourced by bin/test: what the test suite needs besides a JDK and Maven, and installing it on Debian/Ubuntu.
# Defines chatglm_missing_test_deps and chatglm_install_test_deps.
#
#   chromium, chromium-driver  the web page is tested in a real headless Chromium (Selenium + the system driver)
#   fonts-wqy-microhei         CJK glyphs for the browser test's screenshots
#   python3-torch              the P-tuning golden test runs the reference PyTorch code
#   nodejs, npm                the official `openai` npm client is run against the server

# Prints the Debian packages that are missing, space-separated (nothing when all are there). Quick: no apt calls.
chatglm_missing_test_deps() {
  local need=()
  command -v chromium >/dev/null 2>&1 || need+=(chromium)
  command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
  if ! dpkg-query -W -f='${Status}' fonts-wqy-microhei 2>/dev/null | grep -q 'install ok installed' \
     && ! { command -v fc-list >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi 'WenQuanYi Micro Hei'; }; then
    need+=(fonts-wqy-microhei)
  fi
  if ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q 'install ok installed' \
     && ! python3 -c 'import torch' >/dev/null 2>&1; then
    need+=(python3-torch)
  fi
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
  printf '%s' "${need[*]}"
}

# Installs what is missing with apt-get (as root, or through sudo when that needs no password); otherwise, or
# without apt-get, says in one line what to install and returns 1. CHATGLM_NO_INSTALL=1 only checks.
chatglm_install_test_deps() {
  local missing sudo=""
  missing="$(chatglm_missing_test_deps)"
  [ -z "$missing" ] && return 0
  local hint="install them (Debian/Ubuntu: sudo apt-get install -y --no-install-recommends $missing) and run bin/test again"
  if [ "${CHATGLM_NO_INSTALL:-}" = 1 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "bin/test: error: the test suite needs $missing: $hint" >&2
    return 1
  fi
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      sudo="sudo"
    elif command -v sudo >/dev/null 2>&1 && [ -t 0 ]; then
      sudo="sudo"   # it may ask for the password on this terminal
    else
      echo "bin/test: error: the test suite needs $missing, and installing needs root: $hint" >&2
      return 1
    fi
  fi
  echo "bin/test: installing $missing (apt-get)" >&2
  # shellcheck disable=SC2086 # the package list is meant to split
  if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        --no-install-recommends $missing; } >&2; then
    echo "bin/test: error: could not install $missing: $hint" >&2
    return 1
  fi
  missing="$(chatglm_missing_test_deps)"
  if [ -n "$missing" ]; then
    echo "bin/test: error: still missing after installing: $missing: $hint" >&2
    return 1
  fi
}
