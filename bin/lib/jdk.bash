# Shared by bin/chatglm and bin/test (sourced, not run): finds a JDK >= 25 and says how to get one.
# Defines CHATGLM_MIN_JAVA, chatglm_java_major DIR, chatglm_find_jdk, chatglm_no_jdk_help, chatglm_no_maven_help.

CHATGLM_MIN_JAVA=25

# The feature version of the JDK in DIR (e.g. 25), or nothing when DIR holds no usable JDK (java and javac).
chatglm_java_major() {
  local home="$1" version=""
  [ -x "$home/bin/java" ] && [ -x "$home/bin/javac" ] || return 1
  if [ -r "$home/release" ]; then
    version="$(sed -n 's/^JAVA_VERSION="\([^"]*\)".*/\1/p' "$home/release" | head -n 1)"
  fi
  if [ -z "$version" ]; then
    version="$("$home/bin/java" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n 1)"
  fi
  [ -n "$version" ] || return 1
  case "$version" in
    1.*) version="${version#1.}" ;;   # 1.8.0_392 -> 8
  esac
  version="${version%%[!0-9]*}"
  [ -n "$version" ] || return 1
  printf '%s\n' "$version"
}

# Prints the home of the first JDK >= 25 found: JAVA_HOME, /usr/lib/jvm (Temurin 25 first), SDKMAN, /opt,
# macOS's JavaVirtualMachines, then the java on PATH. Returns 1 when there is none.
chatglm_find_jdk() {
  local candidates=() c major java_on_path
  [ -n "${JAVA_HOME:-}" ] && candidates+=("$JAVA_HOME")
  local sdkman="${SDKMAN_DIR:-$HOME/.sdkman}/candidates/java"
  for c in /usr/lib/jvm/temurin-25* /usr/lib/jvm/*25* /usr/lib/jvm/* \
           "$sdkman"/current "$sdkman"/25* "$sdkman"/* \
           /opt/*jdk*25* /opt/*25* /opt/java/* /opt/*jdk* /opt/* \
           /Library/Java/JavaVirtualMachines/*/Contents/Home; do
    [ -d "$c" ] && candidates+=("$c")
  done
  if java_on_path="$(command -v java 2>/dev/null)"; then
    java_on_path="$(readlink -f "$java_on_path" 2>/dev/null || printf '%s' "$java_on_path")"
    candidates+=("$(dirname "$(dirname "$java_on_path")")")
  fi
  for c in "${candidates[@]}"; do
    major="$(chatglm_java_major "$c")" || continue
    if [ "$major" -ge "$CHATGLM_MIN_JAVA" ] 2>/dev/null; then
      printf '%s\n' "$c"
      return 0
    fi
  done
  return 1
}

chatglm_no_jdk_help() {
  cat >&2 <<MSG
chatglm: error: no JDK ${CHATGLM_MIN_JAVA} or newer found (looked at JAVA_HOME, /usr/lib/jvm, SDKMAN, /opt and the java on PATH).
Install one, then run this again (or point JAVA_HOME at it):
  Debian/Ubuntu: add the Adoptium repository (https://adoptium.net/installation/linux/), then
                 sudo apt-get install temurin-${CHATGLM_MIN_JAVA}-jdk
  Fedora/RHEL:   the same page, then sudo dnf install temurin-${CHATGLM_MIN_JAVA}-jdk
  macOS:         brew install --cask temurin@${CHATGLM_MIN_JAVA}
  SDKMAN:        sdk install java ${CHATGLM_MIN_JAVA}-tem
  Any system:    download Temurin ${CHATGLM_MIN_JAVA} from https://adoptium.net/temurin/releases/?version=${CHATGLM_MIN_JAVA}
MSG
}

chatglm_no_maven_help() {
  cat >&2 <<MSG
chatglm: error: Maven (mvn) is needed to build chatglm4j and was not found on PATH.
Install Maven 3.8 or newer, then run this again:
  Debian/Ubuntu: sudo apt-get install maven
  Fedora/RHEL:   sudo dnf install maven
  macOS:         brew install maven
  SDKMAN:        sdk install maven
  Any system:    https://maven.apache.org/download.cgi
MSG
}
