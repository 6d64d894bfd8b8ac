#!/usr/bin/env bash
# The layering rule of STYLE.md, checked for every module: a module may include
# only the modules listed for it below (dependencies point one way: common at
# the bottom, cli on top). A new folder under src/ must be added here, so its
# place in the layering is a decision and not an accident.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

declare -A ALLOWED=(
    [common]=""
    [json]="common"
    [parquet]="common json"
    [storage]="common"
    [source]="common"
    [config]="common"
    [mysql]="common json"
    [cdc]="common json parquet"
    [delta]="common json parquet storage"
    [merge]="common json parquet storage delta cdc"
    [maint]="common json parquet storage delta"
    [metrics]="common"
    [http]="common json metrics"
    [monitor]="common json parquet storage delta cdc source metrics mysql"
    [boot]="common json parquet storage delta cdc merge mysql"
    [snap]="common json parquet storage delta cdc merge maint"
    [daemon]="common json parquet storage delta cdc merge maint source config metrics"
    [cli]="common json parquet storage delta cdc merge maint source config metrics http monitor daemon mysql boot snap"
)

status=0
for dir in src/*/; do
    mod="$(basename "$dir")"
    if [[ -z "${ALLOWED[$mod]+set}" ]]; then
        echo "lint: src/$mod/ is not in the layering table of scripts/lint-layers.sh" >&2
        status=1
        continue
    fi
    allowed=" ${ALLOWED[$mod]} "
    while IFS=: read -r file line inc; do
        dep="$(sed -E 's|.*#include "\.\./([a-z_]+)/.*|\1|' <<<"$inc")"
        if [[ "$allowed" != *" $dep "* ]]; then
            echo "lint: $file:$line: $mod/ must not include $dep/ (allowed: ${ALLOWED[$mod]:-nothing})" >&2
            status=1
        fi
    done < <(grep -nE '#include "\.\./[a-z_]+/' "$dir"*.[ch] 2>/dev/null | sed -E 's/^([^:]+):([0-9]+):/\1:\2:/')
done
[[ $status -eq 0 ]] && echo "lint: layering ok ($(ls -d src/*/ | wc -l) modules)"
exit $status
