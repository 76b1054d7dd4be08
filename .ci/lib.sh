# Sourced by .ci/run and the leg scripts. Nothing here may run on the machine's default Node: use_node puts a Node
# from the npm registry first on PATH, so npm, npx, tsx and every spawned child run on it.

# Prints a loud failure line naming the leg and the command that failed.
ci_trap() {
  CI_LEG="$1"
  trap 'status=$?; echo "" >&2; echo "!! FAILED [$CI_LEG] (exit $status) at line $LINENO: $BASH_COMMAND" >&2; exit $status' ERR
}

# use_node MAJOR: a real Node MAJOR from the registry, first on PATH; fails unless `node` is then that major.
use_node() {
  local major="$1" bin
  bin="$(npx -y "node@$major" -p process.execPath)"
  export PATH="$(dirname "$bin"):$PATH"
  if [ "$(node -p 'process.versions.node.split(".")[0]')" != "$major" ]; then
    echo "!! expected Node $major first on PATH, got $(node --version)" >&2
    return 1
  fi
  echo "== Node $(node --version) ($bin)"
}

# copy_repo DEST: the repository's tracked and untracked-but-not-ignored files, without node_modules or git.
copy_repo() {
  local dest="$1"
  mkdir -p "$dest"
  git ls-files -co --exclude-standard -z | tar --null -cf - -T - | tar -xf - -C "$dest"
}

# set_dev_deps DIR NAME=RANGE... (RANGE "-" removes NAME): rewrites devDependencies of DIR/package.json.
set_dev_deps() {
  local dir="$1"
  shift
  node -e '
    const fs = require("node:fs");
    const [file, ...pairs] = process.argv.slice(1);
    const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
    for (const pair of pairs) {
      const at = pair.lastIndexOf("=");
      const [name, range] = [pair.slice(0, at), pair.slice(at + 1)];
      if (range === "-") delete pkg.devDependencies[name];
      else pkg.devDependencies[name] = range;
    }
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
  ' "$dir/package.json" "$@"
}
