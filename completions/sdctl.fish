# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_sdctl_global_optspecs
    string join \n c/config= o/output= y/yes timeout= api-endpoint= project= region= zones= v/verbose h/help V/version
end

function __fish_sdctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_sdctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_sdctl_using_subcommand
    set -l cmd (__fish_sdctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c sdctl -n "__fish_sdctl_needs_command" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_needs_command" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_needs_command" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_needs_command" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_needs_command" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_needs_command" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_needs_command" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_needs_command" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_needs_command" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sdctl -n "__fish_sdctl_needs_command" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "init" -d 'Write sdctl.yaml: interactively in a terminal, or from flags with --yes'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "plan" -d 'Show what `up` would create, update or leave alone, step by step'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "up" -d 'Create or update everything (or the named steps and what they need). Safe to re-run'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "down" -d 'Delete everything (or the named steps and what depends on them), then report leftovers'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "status" -d 'Show each resource\'s live state, what is missing and what drifted from the config'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "preflight" -d 'Check credentials, billing, APIs, permissions, quotas, GPU availability and org policies'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "cost" -d 'Estimate the hourly and monthly cost, idle and at full load'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "render" -d 'Write every Kubernetes object sdctl would apply as YAML'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "build" -d 'Build the WebUI or runtime image with Cloud Build (skipped when the registry has it)'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "image-cache" -d 'Build the GPU nodes\' image cache: a disk image holding the WebUI image (gpu.imageCache)'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "templates" -d 'What users can start (`templates:` in the config) and, with the cluster running, each template\'s instances and disks'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "users" -d 'The users of the running environment: their instances, disks and last activity; stop or delete what a user holds'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "kubeconfig" -d 'Add a context for the cluster to your kubeconfig (other contexts untouched)'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "completions" -d 'Print shell completions: bash, zsh, fish, powershell or elvish'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "runtime" -d 'Components that run inside the cluster (router, sidecar, reclaim)'
complete -c sdctl -n "__fish_sdctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -l name -d 'Environment name ([a-z][a-z0-9-]{0,19}); every resource name derives from it' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -l gpu -d 'GPU type: t4 (nvidia-tesla-t4 on N1) or l4 (nvidia-l4 on G2)' -r -f -a "t4\t''
l4\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -l storage -d 'Where models and outputs live: filestore (NFS) or gcs (Cloud Storage through GCS-Fuse)' -r -f -a "filestore\t''
gcs\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -l max-users -d 'Most users served at once (one GPU each); sets gpu.maxNodes to match' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -l domain -d 'Public host name; "" for <static-ip>.sslip.io' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -l iap-member -d 'Who may sign in (repeat, or comma-separated): EMAIL (taken as user:EMAIL), user:EMAIL, group:EMAIL, domain:DOMAIN' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -l force -d 'Replace an existing file without asking'
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand init" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -l agones-manifest -d 'Use this Agones install.yaml instead of downloading the pinned release (air-gapped use)' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -l driver-manifest -d 'Use this NVIDIA driver installer DaemonSet instead of downloading the pinned one' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -l okg-manifests -d 'With `runtime.kind: okg`: read OpenKruise\'s and OpenKruiseGame\'s files from this directory instead of downloading the pinned releases: `kruise-1.9.0/` and `kruise-game-1.0.0/`, each holding `crd/*.yaml` (the projects\' config/crd/bases/), `rbac/*.yaml` and, for kruise, `webhook/manifests.yaml`, from the release tags' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -l offline -d 'Assume an empty project: no credentials, no network'
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -l exit-code -d 'Exit 10 when changes are pending, 0 when everything is in sync'
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand plan" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -l max-hourly-cost -d 'Refuse (exit 3) when the full-load estimate exceeds this many USD per hour' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -l agones-manifest -d 'Use this Agones install.yaml instead of downloading the pinned release (air-gapped use)' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -l driver-manifest -d 'Use this NVIDIA driver installer DaemonSet instead of downloading the pinned one' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -l okg-manifests -d 'With `runtime.kind: okg`: read OpenKruise\'s and OpenKruiseGame\'s files from this directory instead of downloading the pinned releases: `kruise-1.9.0/` and `kruise-game-1.0.0/`, each holding `crd/*.yaml` (the projects\' config/crd/bases/), `rbac/*.yaml` and, for kruise, `webhook/manifests.yaml`, from the release tags' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -l no-wait -d 'Skip the closing smoke check (a warm WebUI GameServer Ready)'
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -l skip-preflight -d 'Skip the checks that run before anything is created'
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -l wait-for-certificate -d 'Wait until the managed certificate is active (it needs the DNS record first)'
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand up" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -l agones-manifest -d 'Use this Agones install.yaml instead of downloading the pinned release (air-gapped use)' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -l driver-manifest -d 'Use this NVIDIA driver installer DaemonSet instead of downloading the pinned one' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -l okg-manifests -d 'With `runtime.kind: okg`: read OpenKruise\'s and OpenKruiseGame\'s files from this directory instead of downloading the pinned releases: `kruise-1.9.0/` and `kruise-game-1.0.0/`, each holding `crd/*.yaml` (the projects\' config/crd/bases/), `rbac/*.yaml` and, for kruise, `webhook/manifests.yaml`, from the release tags' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -l keep-data -d 'Keep storage (models, user outputs) and Redis; they are reported as kept'
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand down" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -l agones-manifest -d 'Use this Agones install.yaml instead of downloading the pinned release (air-gapped use)' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -l driver-manifest -d 'Use this NVIDIA driver installer DaemonSet instead of downloading the pinned one' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -l okg-manifests -d 'With `runtime.kind: okg`: read OpenKruise\'s and OpenKruiseGame\'s files from this directory instead of downloading the pinned releases: `kruise-1.9.0/` and `kruise-game-1.0.0/`, each holding `crd/*.yaml` (the projects\' config/crd/bases/), `rbac/*.yaml` and, for kruise, `webhook/manifests.yaml`, from the release tags' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -l exit-code -d 'Exit 10 when something is missing or drifted from the config, 0 when in sync'
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand status" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand preflight" -l max-hourly-cost -d 'Also fail when the full-load cost estimate exceeds this many USD per hour' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand preflight" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand preflight" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand preflight" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand preflight" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand preflight" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand preflight" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand preflight" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand preflight" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand preflight" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand preflight" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand preflight" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand cost" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand cost" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand cost" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand cost" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand cost" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand cost" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand cost" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand cost" -l offline -d 'Use sdctl\'s built-in us-central1 price table: no credentials, no network'
complete -c sdctl -n "__fish_sdctl_using_subcommand cost" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand cost" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand cost" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand cost" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -l out -d 'Directory for the YAML files (one per step)' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -l agones-manifest -d 'Use this Agones install.yaml instead of downloading the pinned release (air-gapped use)' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -l driver-manifest -d 'Use this NVIDIA driver installer DaemonSet instead of downloading the pinned one' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -l okg-manifests -d 'With `runtime.kind: okg`: read OpenKruise\'s and OpenKruiseGame\'s files from this directory instead of downloading the pinned releases: `kruise-1.9.0/` and `kruise-game-1.0.0/`, each holding `crd/*.yaml` (the projects\' config/crd/bases/), `rbac/*.yaml` and, for kruise, `webhook/manifests.yaml`, from the release tags' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -l offline -d 'Render without a cluster: values only known live are stand-ins from 192.0.2.0/24'
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand render" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand build" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand build" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand build" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand build" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand build" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand build" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand build" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand build" -l force -d 'Build even when the registry already has an image with this context\'s tag'
complete -c sdctl -n "__fish_sdctl_using_subcommand build" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand build" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand build" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c sdctl -n "__fish_sdctl_using_subcommand build" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand image-cache" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand image-cache" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand image-cache" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand image-cache" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand image-cache" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand image-cache" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand image-cache" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand image-cache" -l force -d 'Rebuild even when the image exists and is READY'
complete -c sdctl -n "__fish_sdctl_using_subcommand image-cache" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand image-cache" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand image-cache" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand image-cache" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -f -a "ls" -d 'List the templates: engine, disk size and, with runtime.kind okg and the cluster running, instances running, ready, and users\' disks (-o json: {"templates":[...]})'
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and not __fish_seen_subcommand_from ls help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from ls" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from ls" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from ls" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from ls" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from ls" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from ls" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from ls" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List the templates: engine, disk size and, with runtime.kind okg and the cluster running, instances running, ready, and users\' disks (-o json: {"templates":[...]})'
complete -c sdctl -n "__fish_sdctl_using_subcommand templates; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -f -a "ls" -d 'List users: template, instance, state, last activity and disk (with runtime.kind okg, each user\'s own disk per template and what it costs). -o json: {"users":[...]}'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -f -a "stop" -d 'Stop a user\'s instances (one template with --template); their disks stay theirs, and their next request starts the instance again on the same disk'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -f -a "delete" -d 'Stop a user\'s instances and delete their disks (asks first; -y in scripts)'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and not __fish_seen_subcommand_from ls stop delete help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from ls" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from ls" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from ls" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from ls" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from ls" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from ls" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from ls" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from ls" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from ls" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from stop" -l template -d 'Only the instance of this template' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from stop" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from stop" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from stop" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from stop" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from stop" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from stop" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from stop" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from stop" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from stop" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from stop" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from stop" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from delete" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from delete" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from delete" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from delete" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from delete" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from delete" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from delete" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from delete" -l keep-data -d 'Keep the user\'s disks (only stop their instances)'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from delete" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from delete" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from delete" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from delete" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List users: template, instance, state, last activity and disk (with runtime.kind okg, each user\'s own disk per template and what it costs). -o json: {"users":[...]}'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "stop" -d 'Stop a user\'s instances (one template with --template); their disks stay theirs, and their next request starts the instance again on the same disk'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "delete" -d 'Stop a user\'s instances and delete their disks (asks first; -y in scripts)'
complete -c sdctl -n "__fish_sdctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -l kubeconfig -d 'The kubeconfig to write (default: the first file of KUBECONFIG, else ~/.kube/config)' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -l no-switch -d 'Add the context without making it the current one'
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand kubeconfig" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand completions" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand completions" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand completions" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand completions" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand completions" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand completions" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand completions" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand completions" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand completions" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -f -a "router" -d 'The per-user reverse proxy behind IAP (runs in the cluster)'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -f -a "sidecar" -d 'Beside each WebUI: marks the GameServer Ready once the WebUI answers (runs in the cluster)'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -f -a "reclaim" -d 'Reclaims idle WebUI GameServers and stale mappings (a CronJob in the cluster)'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and not __fish_seen_subcommand_from router sidecar reclaim help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l listen -d 'Address to listen on (HTTP; the load balancer\'s health checks come here too)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l redis-url -d 'Redis to keep the user -> WebUI map in: redis://HOST:6379, or rediss://HOST:6378 for TLS. The AUTH string goes in SDCTL_REDIS_PASSWORD, not in the URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l redis-ca -d 'PEM file with the Redis server\'s CA (Memorystore in-transit encryption)' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l namespace -d 'Namespace of the WebUI GameServers' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l fleet -d 'Fleet to allocate WebUI GameServers from; several (comma-separated): a Fleet per template, chosen on the user\'s dashboard' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l templates -d 'OpenKruiseGame: the GameServerSets (one per template) users get their own instances of' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l iap-audience -d 'IAP\'s audience for this backend: /projects/NUMBER/global/backendServices/ID. Ending in `/` accepts any backend service of that project' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l iap-jwks-url -d 'Where IAP\'s signing keys are published (JWKS)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l threads -d 'Threads serving requests, each with its own connections (as nginx\'s worker processes) [default: one per CPU the pod may use]' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -l trust-iap-header -d 'Take the user from x-goog-authenticated-user-email without verifying it. Tests only: anyone who can reach the router could claim to be anyone'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from router" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -l webui-url -d 'The WebUI inside the pod' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -l sdk-port -d 'Port of the Agones SDK server\'s REST API (Agones sets AGONES_SDK_HTTP_PORT)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -l user-file -d 'File that receives the allocated user\'s label' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -l interval -d 'Time between WebUI checks and health pings (keep it below the GameServer\'s health.periodSeconds)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -l startup-timeout -d 'How long a starting WebUI (loading a checkpoint from the shared volume) is kept healthy before it first answers; past that it is left to Agones, which replaces it' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -l outputs -d 'The pod-local directory the WebUI writes its outputs to' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -l user-outputs -d 'The shared volume\'s folder of every user\'s outputs: the allocated user\'s outputs are copied into its subfolder named after the user (nothing is copied when it is missing)' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from sidecar" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -l redis-url -d 'Redis to keep the user -> WebUI map in: redis://HOST:6379, or rediss://HOST:6378 for TLS. The AUTH string goes in SDCTL_REDIS_PASSWORD, not in the URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -l redis-ca -d 'PEM file with the Redis server\'s CA (Memorystore in-transit encryption)' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -l namespace -d 'Namespace of the WebUI GameServers' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -l idle-minutes -d 'Release a user\'s GameServer after this many minutes without a request' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -l orphan-grace -d 'How long an Allocated GameServer without a mapping is left alone' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -l templates -d 'OpenKruiseGame: the GameServerSets (one per template) whose instances are users\' own' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -l fleet -d 'Agones with a Fleet per template: the Fleets (as the router\'s --fleet)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -s c -l config -d 'Configuration file' -r -F
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -s o -l output -d 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)' -r -f -a "human\t''
json\t''"
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -l timeout -d 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -l api-endpoint -d 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -l project -d 'Google Cloud project (overrides `project` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -l region -d 'Region (overrides `region` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -l zones -d 'Zones, comma-separated (overrides `zones` in the file)' -r
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -s y -l yes -d 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users\' WebUIs of a template removed from the config)'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -s v -l verbose -d 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -s h -l help -d 'Print help'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from reclaim" -s V -l version -d 'Print version'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from help" -f -a "router" -d 'The per-user reverse proxy behind IAP (runs in the cluster)'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from help" -f -a "sidecar" -d 'Beside each WebUI: marks the GameServer Ready once the WebUI answers (runs in the cluster)'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from help" -f -a "reclaim" -d 'Reclaims idle WebUI GameServers and stale mappings (a CronJob in the cluster)'
complete -c sdctl -n "__fish_sdctl_using_subcommand runtime; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "init" -d 'Write sdctl.yaml: interactively in a terminal, or from flags with --yes'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "plan" -d 'Show what `up` would create, update or leave alone, step by step'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "up" -d 'Create or update everything (or the named steps and what they need). Safe to re-run'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "down" -d 'Delete everything (or the named steps and what depends on them), then report leftovers'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "status" -d 'Show each resource\'s live state, what is missing and what drifted from the config'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "preflight" -d 'Check credentials, billing, APIs, permissions, quotas, GPU availability and org policies'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "cost" -d 'Estimate the hourly and monthly cost, idle and at full load'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "render" -d 'Write every Kubernetes object sdctl would apply as YAML'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "build" -d 'Build the WebUI or runtime image with Cloud Build (skipped when the registry has it)'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "image-cache" -d 'Build the GPU nodes\' image cache: a disk image holding the WebUI image (gpu.imageCache)'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "templates" -d 'What users can start (`templates:` in the config) and, with the cluster running, each template\'s instances and disks'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "users" -d 'The users of the running environment: their instances, disks and last activity; stop or delete what a user holds'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "kubeconfig" -d 'Add a context for the cluster to your kubeconfig (other contexts untouched)'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "completions" -d 'Print shell completions: bash, zsh, fish, powershell or elvish'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "runtime" -d 'Components that run inside the cluster (router, sidecar, reclaim)'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and not __fish_seen_subcommand_from init plan up down status preflight cost render build image-cache templates users kubeconfig completions runtime help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and __fish_seen_subcommand_from templates" -f -a "ls" -d 'List the templates: engine, disk size and, with runtime.kind okg and the cluster running, instances running, ready, and users\' disks (-o json: {"templates":[...]})'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "ls" -d 'List users: template, instance, state, last activity and disk (with runtime.kind okg, each user\'s own disk per template and what it costs). -o json: {"users":[...]}'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "stop" -d 'Stop a user\'s instances (one template with --template); their disks stay theirs, and their next request starts the instance again on the same disk'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "delete" -d 'Stop a user\'s instances and delete their disks (asks first; -y in scripts)'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and __fish_seen_subcommand_from runtime" -f -a "router" -d 'The per-user reverse proxy behind IAP (runs in the cluster)'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and __fish_seen_subcommand_from runtime" -f -a "sidecar" -d 'Beside each WebUI: marks the GameServer Ready once the WebUI answers (runs in the cluster)'
complete -c sdctl -n "__fish_sdctl_using_subcommand help; and __fish_seen_subcommand_from runtime" -f -a "reclaim" -d 'Reclaims idle WebUI GameServers and stale mappings (a CronJob in the cluster)'
