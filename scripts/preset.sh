# Sourced by the scripts that read their sizes from a JSON preset in configs/.
# preset FILE KEY.PATH: the value at KEY.PATH of the JSON file FILE, e.g. `preset configs/x.json eval.n_episodes`.
preset() { .venv/bin/python -c 'import json, sys
value = json.load(open(sys.argv[1]))
for key in sys.argv[2].split("."): value = value[key]
print(value)' "$@"; }
