
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'sdctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'sdctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'sdctl' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write sdctl.yaml: interactively in a terminal, or from flags with --yes')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what `up` would create, update or leave alone, step by step')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Create or update everything (or the named steps and what they need). Safe to re-run')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Delete everything (or the named steps and what depends on them), then report leftovers')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show each resource''s live state, what is missing and what drifted from the config')
            [CompletionResult]::new('preflight', 'preflight', [CompletionResultType]::ParameterValue, 'Check credentials, billing, APIs, permissions, quotas, GPU availability and org policies')
            [CompletionResult]::new('cost', 'cost', [CompletionResultType]::ParameterValue, 'Estimate the hourly and monthly cost, idle and at full load')
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Write every Kubernetes object sdctl would apply as YAML')
            [CompletionResult]::new('build', 'build', [CompletionResultType]::ParameterValue, 'Build the WebUI or runtime image with Cloud Build (skipped when the registry has it)')
            [CompletionResult]::new('image-cache', 'image-cache', [CompletionResultType]::ParameterValue, 'Build the GPU nodes'' image cache: a disk image holding the WebUI image (gpu.imageCache)')
            [CompletionResult]::new('templates', 'templates', [CompletionResultType]::ParameterValue, 'What users can start (`templates:` in the config) and, with the cluster running, each template''s instances and disks')
            [CompletionResult]::new('users', 'users', [CompletionResultType]::ParameterValue, 'The users of the running environment: their instances, disks and last activity; stop or delete what a user holds')
            [CompletionResult]::new('kubeconfig', 'kubeconfig', [CompletionResultType]::ParameterValue, 'Add a context for the cluster to your kubeconfig (other contexts untouched)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions: bash, zsh, fish, powershell or elvish')
            [CompletionResult]::new('runtime', 'runtime', [CompletionResultType]::ParameterValue, 'Components that run inside the cluster (router, sidecar, reclaim)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sdctl;init' {
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Environment name ([a-z][a-z0-9-]{0,19}); every resource name derives from it')
            [CompletionResult]::new('--gpu', '--gpu', [CompletionResultType]::ParameterName, 'GPU type: t4 (nvidia-tesla-t4 on N1) or l4 (nvidia-l4 on G2)')
            [CompletionResult]::new('--storage', '--storage', [CompletionResultType]::ParameterName, 'Where models and outputs live: filestore (NFS) or gcs (Cloud Storage through GCS-Fuse)')
            [CompletionResult]::new('--max-users', '--max-users', [CompletionResultType]::ParameterName, 'Most users served at once (one GPU each); sets gpu.maxNodes to match')
            [CompletionResult]::new('--domain', '--domain', [CompletionResultType]::ParameterName, 'Public host name; "" for <static-ip>.sslip.io')
            [CompletionResult]::new('--iap-member', '--iap-member', [CompletionResultType]::ParameterName, 'Who may sign in (repeat, or comma-separated): EMAIL (taken as user:EMAIL), user:EMAIL, group:EMAIL, domain:DOMAIN')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Replace an existing file without asking')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;plan' {
            [CompletionResult]::new('--agones-manifest', '--agones-manifest', [CompletionResultType]::ParameterName, 'Use this Agones install.yaml instead of downloading the pinned release (air-gapped use)')
            [CompletionResult]::new('--driver-manifest', '--driver-manifest', [CompletionResultType]::ParameterName, 'Use this NVIDIA driver installer DaemonSet instead of downloading the pinned one')
            [CompletionResult]::new('--okg-manifests', '--okg-manifests', [CompletionResultType]::ParameterName, 'With `runtime.kind: okg`: read OpenKruise''s and OpenKruiseGame''s files from this directory instead of downloading the pinned releases: `kruise-1.9.0/` and `kruise-game-1.0.0/`, each holding `crd/*.yaml` (the projects'' config/crd/bases/), `rbac/*.yaml` and, for kruise, `webhook/manifests.yaml`, from the release tags')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Assume an empty project: no credentials, no network')
            [CompletionResult]::new('--exit-code', '--exit-code', [CompletionResultType]::ParameterName, 'Exit 10 when changes are pending, 0 when everything is in sync')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;up' {
            [CompletionResult]::new('--max-hourly-cost', '--max-hourly-cost', [CompletionResultType]::ParameterName, 'Refuse (exit 3) when the full-load estimate exceeds this many USD per hour')
            [CompletionResult]::new('--agones-manifest', '--agones-manifest', [CompletionResultType]::ParameterName, 'Use this Agones install.yaml instead of downloading the pinned release (air-gapped use)')
            [CompletionResult]::new('--driver-manifest', '--driver-manifest', [CompletionResultType]::ParameterName, 'Use this NVIDIA driver installer DaemonSet instead of downloading the pinned one')
            [CompletionResult]::new('--okg-manifests', '--okg-manifests', [CompletionResultType]::ParameterName, 'With `runtime.kind: okg`: read OpenKruise''s and OpenKruiseGame''s files from this directory instead of downloading the pinned releases: `kruise-1.9.0/` and `kruise-game-1.0.0/`, each holding `crd/*.yaml` (the projects'' config/crd/bases/), `rbac/*.yaml` and, for kruise, `webhook/manifests.yaml`, from the release tags')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('--no-wait', '--no-wait', [CompletionResultType]::ParameterName, 'Skip the closing smoke check (a warm WebUI GameServer Ready)')
            [CompletionResult]::new('--skip-preflight', '--skip-preflight', [CompletionResultType]::ParameterName, 'Skip the checks that run before anything is created')
            [CompletionResult]::new('--wait-for-certificate', '--wait-for-certificate', [CompletionResultType]::ParameterName, 'Wait until the managed certificate is active (it needs the DNS record first)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;down' {
            [CompletionResult]::new('--agones-manifest', '--agones-manifest', [CompletionResultType]::ParameterName, 'Use this Agones install.yaml instead of downloading the pinned release (air-gapped use)')
            [CompletionResult]::new('--driver-manifest', '--driver-manifest', [CompletionResultType]::ParameterName, 'Use this NVIDIA driver installer DaemonSet instead of downloading the pinned one')
            [CompletionResult]::new('--okg-manifests', '--okg-manifests', [CompletionResultType]::ParameterName, 'With `runtime.kind: okg`: read OpenKruise''s and OpenKruiseGame''s files from this directory instead of downloading the pinned releases: `kruise-1.9.0/` and `kruise-game-1.0.0/`, each holding `crd/*.yaml` (the projects'' config/crd/bases/), `rbac/*.yaml` and, for kruise, `webhook/manifests.yaml`, from the release tags')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('--keep-data', '--keep-data', [CompletionResultType]::ParameterName, 'Keep storage (models, user outputs) and Redis; they are reported as kept')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;status' {
            [CompletionResult]::new('--agones-manifest', '--agones-manifest', [CompletionResultType]::ParameterName, 'Use this Agones install.yaml instead of downloading the pinned release (air-gapped use)')
            [CompletionResult]::new('--driver-manifest', '--driver-manifest', [CompletionResultType]::ParameterName, 'Use this NVIDIA driver installer DaemonSet instead of downloading the pinned one')
            [CompletionResult]::new('--okg-manifests', '--okg-manifests', [CompletionResultType]::ParameterName, 'With `runtime.kind: okg`: read OpenKruise''s and OpenKruiseGame''s files from this directory instead of downloading the pinned releases: `kruise-1.9.0/` and `kruise-game-1.0.0/`, each holding `crd/*.yaml` (the projects'' config/crd/bases/), `rbac/*.yaml` and, for kruise, `webhook/manifests.yaml`, from the release tags')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('--exit-code', '--exit-code', [CompletionResultType]::ParameterName, 'Exit 10 when something is missing or drifted from the config, 0 when in sync')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;preflight' {
            [CompletionResult]::new('--max-hourly-cost', '--max-hourly-cost', [CompletionResultType]::ParameterName, 'Also fail when the full-load cost estimate exceeds this many USD per hour')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;cost' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Use sdctl''s built-in us-central1 price table: no credentials, no network')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;render' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Directory for the YAML files (one per step)')
            [CompletionResult]::new('--agones-manifest', '--agones-manifest', [CompletionResultType]::ParameterName, 'Use this Agones install.yaml instead of downloading the pinned release (air-gapped use)')
            [CompletionResult]::new('--driver-manifest', '--driver-manifest', [CompletionResultType]::ParameterName, 'Use this NVIDIA driver installer DaemonSet instead of downloading the pinned one')
            [CompletionResult]::new('--okg-manifests', '--okg-manifests', [CompletionResultType]::ParameterName, 'With `runtime.kind: okg`: read OpenKruise''s and OpenKruiseGame''s files from this directory instead of downloading the pinned releases: `kruise-1.9.0/` and `kruise-game-1.0.0/`, each holding `crd/*.yaml` (the projects'' config/crd/bases/), `rbac/*.yaml` and, for kruise, `webhook/manifests.yaml`, from the release tags')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('--offline', '--offline', [CompletionResultType]::ParameterName, 'Render without a cluster: values only known live are stand-ins from 192.0.2.0/24')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;build' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Build even when the registry already has an image with this context''s tag')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;image-cache' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Rebuild even when the image exists and is READY')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;templates' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the templates: engine, disk size and, with runtime.kind okg and the cluster running, instances running, ready, and users'' disks (-o json: {"templates":[...]})')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sdctl;templates;ls' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;templates;help' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the templates: engine, disk size and, with runtime.kind okg and the cluster running, instances running, ready, and users'' disks (-o json: {"templates":[...]})')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sdctl;templates;help;ls' {
            break
        }
        'sdctl;templates;help;help' {
            break
        }
        'sdctl;users' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List users: template, instance, state, last activity and disk (with runtime.kind okg, each user''s own disk per template and what it costs). -o json: {"users":[...]}')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop a user''s instances (one template with --template); their disks stay theirs, and their next request starts the instance again on the same disk')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Stop a user''s instances and delete their disks (asks first; -y in scripts)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sdctl;users;ls' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;users;stop' {
            [CompletionResult]::new('--template', '--template', [CompletionResultType]::ParameterName, 'Only the instance of this template')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;users;delete' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('--keep-data', '--keep-data', [CompletionResultType]::ParameterName, 'Keep the user''s disks (only stop their instances)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;users;help' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List users: template, instance, state, last activity and disk (with runtime.kind okg, each user''s own disk per template and what it costs). -o json: {"users":[...]}')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop a user''s instances (one template with --template); their disks stay theirs, and their next request starts the instance again on the same disk')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Stop a user''s instances and delete their disks (asks first; -y in scripts)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sdctl;users;help;ls' {
            break
        }
        'sdctl;users;help;stop' {
            break
        }
        'sdctl;users;help;delete' {
            break
        }
        'sdctl;users;help;help' {
            break
        }
        'sdctl;kubeconfig' {
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'The kubeconfig to write (default: the first file of KUBECONFIG, else ~/.kube/config)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('--no-switch', '--no-switch', [CompletionResultType]::ParameterName, 'Add the context without making it the current one')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;completions' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;runtime' {
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('router', 'router', [CompletionResultType]::ParameterValue, 'The per-user reverse proxy behind IAP (runs in the cluster)')
            [CompletionResult]::new('sidecar', 'sidecar', [CompletionResultType]::ParameterValue, 'Beside each WebUI: marks the GameServer Ready once the WebUI answers (runs in the cluster)')
            [CompletionResult]::new('reclaim', 'reclaim', [CompletionResultType]::ParameterValue, 'Reclaims idle WebUI GameServers and stale mappings (a CronJob in the cluster)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sdctl;runtime;router' {
            [CompletionResult]::new('--listen', '--listen', [CompletionResultType]::ParameterName, 'Address to listen on (HTTP; the load balancer''s health checks come here too)')
            [CompletionResult]::new('--redis-url', '--redis-url', [CompletionResultType]::ParameterName, 'Redis to keep the user -> WebUI map in: redis://HOST:6379, or rediss://HOST:6378 for TLS. The AUTH string goes in SDCTL_REDIS_PASSWORD, not in the URL')
            [CompletionResult]::new('--redis-ca', '--redis-ca', [CompletionResultType]::ParameterName, 'PEM file with the Redis server''s CA (Memorystore in-transit encryption)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of the WebUI GameServers')
            [CompletionResult]::new('--fleet', '--fleet', [CompletionResultType]::ParameterName, 'Fleet to allocate WebUI GameServers from; several (comma-separated): a Fleet per template, chosen on the user''s dashboard')
            [CompletionResult]::new('--templates', '--templates', [CompletionResultType]::ParameterName, 'OpenKruiseGame: the GameServerSets (one per template) users get their own instances of')
            [CompletionResult]::new('--iap-audience', '--iap-audience', [CompletionResultType]::ParameterName, 'IAP''s audience for this backend: /projects/NUMBER/global/backendServices/ID. Ending in `/` accepts any backend service of that project')
            [CompletionResult]::new('--iap-jwks-url', '--iap-jwks-url', [CompletionResultType]::ParameterName, 'Where IAP''s signing keys are published (JWKS)')
            [CompletionResult]::new('--threads', '--threads', [CompletionResultType]::ParameterName, 'Threads serving requests, each with its own connections (as nginx''s worker processes) [default: one per CPU the pod may use]')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('--trust-iap-header', '--trust-iap-header', [CompletionResultType]::ParameterName, 'Take the user from x-goog-authenticated-user-email without verifying it. Tests only: anyone who can reach the router could claim to be anyone')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;runtime;sidecar' {
            [CompletionResult]::new('--webui-url', '--webui-url', [CompletionResultType]::ParameterName, 'The WebUI inside the pod')
            [CompletionResult]::new('--sdk-port', '--sdk-port', [CompletionResultType]::ParameterName, 'Port of the Agones SDK server''s REST API (Agones sets AGONES_SDK_HTTP_PORT)')
            [CompletionResult]::new('--user-file', '--user-file', [CompletionResultType]::ParameterName, 'File that receives the allocated user''s label')
            [CompletionResult]::new('--interval', '--interval', [CompletionResultType]::ParameterName, 'Time between WebUI checks and health pings (keep it below the GameServer''s health.periodSeconds)')
            [CompletionResult]::new('--startup-timeout', '--startup-timeout', [CompletionResultType]::ParameterName, 'How long a starting WebUI (loading a checkpoint from the shared volume) is kept healthy before it first answers; past that it is left to Agones, which replaces it')
            [CompletionResult]::new('--outputs', '--outputs', [CompletionResultType]::ParameterName, 'The pod-local directory the WebUI writes its outputs to')
            [CompletionResult]::new('--user-outputs', '--user-outputs', [CompletionResultType]::ParameterName, 'The shared volume''s folder of every user''s outputs: the allocated user''s outputs are copied into its subfolder named after the user (nothing is copied when it is missing)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;runtime;reclaim' {
            [CompletionResult]::new('--redis-url', '--redis-url', [CompletionResultType]::ParameterName, 'Redis to keep the user -> WebUI map in: redis://HOST:6379, or rediss://HOST:6378 for TLS. The AUTH string goes in SDCTL_REDIS_PASSWORD, not in the URL')
            [CompletionResult]::new('--redis-ca', '--redis-ca', [CompletionResultType]::ParameterName, 'PEM file with the Redis server''s CA (Memorystore in-transit encryption)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of the WebUI GameServers')
            [CompletionResult]::new('--idle-minutes', '--idle-minutes', [CompletionResultType]::ParameterName, 'Release a user''s GameServer after this many minutes without a request')
            [CompletionResult]::new('--orphan-grace', '--orphan-grace', [CompletionResultType]::ParameterName, 'How long an Allocated GameServer without a mapping is left alone')
            [CompletionResult]::new('--templates', '--templates', [CompletionResultType]::ParameterName, 'OpenKruiseGame: the GameServerSets (one per template) whose instances are users'' own')
            [CompletionResult]::new('--fleet', '--fleet', [CompletionResultType]::ParameterName, 'Agones with a Fleet per template: the Fleets (as the router''s --fleet)')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format: human (progress on stderr) or json (newline-delimited events on stdout)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Bound the whole run, e.g. 45m or 2h. On expiry running steps stop; `up` again resumes')
            [CompletionResult]::new('--api-endpoint', '--api-endpoint', [CompletionResultType]::ParameterName, 'Send every Google API to BASE/<service> (e.g. an emulator). http:// endpoints always get anonymous credentials. One service: SDCTL_ENDPOINT_<SERVICE>=URL')
            [CompletionResult]::new('--project', '--project', [CompletionResultType]::ParameterName, 'Google Cloud project (overrides `project` in the file)')
            [CompletionResult]::new('--region', '--region', [CompletionResultType]::ParameterName, 'Region (overrides `region` in the file)')
            [CompletionResult]::new('--zones', '--zones', [CompletionResultType]::ParameterName, 'Zones, comma-separated (overrides `zones` in the file)')
            [CompletionResult]::new('-y', '-y', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('--yes', '--yes', [CompletionResultType]::ParameterName, 'Answer yes to confirmations (required for `down` without a terminal, and for `up` to stop users'' WebUIs of a template removed from the config)')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log detail on stderr (-v: debug, -vv: trace). RUST_LOG works too')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'sdctl;runtime;help' {
            [CompletionResult]::new('router', 'router', [CompletionResultType]::ParameterValue, 'The per-user reverse proxy behind IAP (runs in the cluster)')
            [CompletionResult]::new('sidecar', 'sidecar', [CompletionResultType]::ParameterValue, 'Beside each WebUI: marks the GameServer Ready once the WebUI answers (runs in the cluster)')
            [CompletionResult]::new('reclaim', 'reclaim', [CompletionResultType]::ParameterValue, 'Reclaims idle WebUI GameServers and stale mappings (a CronJob in the cluster)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sdctl;runtime;help;router' {
            break
        }
        'sdctl;runtime;help;sidecar' {
            break
        }
        'sdctl;runtime;help;reclaim' {
            break
        }
        'sdctl;runtime;help;help' {
            break
        }
        'sdctl;help' {
            [CompletionResult]::new('init', 'init', [CompletionResultType]::ParameterValue, 'Write sdctl.yaml: interactively in a terminal, or from flags with --yes')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what `up` would create, update or leave alone, step by step')
            [CompletionResult]::new('up', 'up', [CompletionResultType]::ParameterValue, 'Create or update everything (or the named steps and what they need). Safe to re-run')
            [CompletionResult]::new('down', 'down', [CompletionResultType]::ParameterValue, 'Delete everything (or the named steps and what depends on them), then report leftovers')
            [CompletionResult]::new('status', 'status', [CompletionResultType]::ParameterValue, 'Show each resource''s live state, what is missing and what drifted from the config')
            [CompletionResult]::new('preflight', 'preflight', [CompletionResultType]::ParameterValue, 'Check credentials, billing, APIs, permissions, quotas, GPU availability and org policies')
            [CompletionResult]::new('cost', 'cost', [CompletionResultType]::ParameterValue, 'Estimate the hourly and monthly cost, idle and at full load')
            [CompletionResult]::new('render', 'render', [CompletionResultType]::ParameterValue, 'Write every Kubernetes object sdctl would apply as YAML')
            [CompletionResult]::new('build', 'build', [CompletionResultType]::ParameterValue, 'Build the WebUI or runtime image with Cloud Build (skipped when the registry has it)')
            [CompletionResult]::new('image-cache', 'image-cache', [CompletionResultType]::ParameterValue, 'Build the GPU nodes'' image cache: a disk image holding the WebUI image (gpu.imageCache)')
            [CompletionResult]::new('templates', 'templates', [CompletionResultType]::ParameterValue, 'What users can start (`templates:` in the config) and, with the cluster running, each template''s instances and disks')
            [CompletionResult]::new('users', 'users', [CompletionResultType]::ParameterValue, 'The users of the running environment: their instances, disks and last activity; stop or delete what a user holds')
            [CompletionResult]::new('kubeconfig', 'kubeconfig', [CompletionResultType]::ParameterValue, 'Add a context for the cluster to your kubeconfig (other contexts untouched)')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions: bash, zsh, fish, powershell or elvish')
            [CompletionResult]::new('runtime', 'runtime', [CompletionResultType]::ParameterValue, 'Components that run inside the cluster (router, sidecar, reclaim)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'sdctl;help;init' {
            break
        }
        'sdctl;help;plan' {
            break
        }
        'sdctl;help;up' {
            break
        }
        'sdctl;help;down' {
            break
        }
        'sdctl;help;status' {
            break
        }
        'sdctl;help;preflight' {
            break
        }
        'sdctl;help;cost' {
            break
        }
        'sdctl;help;render' {
            break
        }
        'sdctl;help;build' {
            break
        }
        'sdctl;help;image-cache' {
            break
        }
        'sdctl;help;templates' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the templates: engine, disk size and, with runtime.kind okg and the cluster running, instances running, ready, and users'' disks (-o json: {"templates":[...]})')
            break
        }
        'sdctl;help;templates;ls' {
            break
        }
        'sdctl;help;users' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List users: template, instance, state, last activity and disk (with runtime.kind okg, each user''s own disk per template and what it costs). -o json: {"users":[...]}')
            [CompletionResult]::new('stop', 'stop', [CompletionResultType]::ParameterValue, 'Stop a user''s instances (one template with --template); their disks stay theirs, and their next request starts the instance again on the same disk')
            [CompletionResult]::new('delete', 'delete', [CompletionResultType]::ParameterValue, 'Stop a user''s instances and delete their disks (asks first; -y in scripts)')
            break
        }
        'sdctl;help;users;ls' {
            break
        }
        'sdctl;help;users;stop' {
            break
        }
        'sdctl;help;users;delete' {
            break
        }
        'sdctl;help;kubeconfig' {
            break
        }
        'sdctl;help;completions' {
            break
        }
        'sdctl;help;runtime' {
            [CompletionResult]::new('router', 'router', [CompletionResultType]::ParameterValue, 'The per-user reverse proxy behind IAP (runs in the cluster)')
            [CompletionResult]::new('sidecar', 'sidecar', [CompletionResultType]::ParameterValue, 'Beside each WebUI: marks the GameServer Ready once the WebUI answers (runs in the cluster)')
            [CompletionResult]::new('reclaim', 'reclaim', [CompletionResultType]::ParameterValue, 'Reclaims idle WebUI GameServers and stale mappings (a CronJob in the cluster)')
            break
        }
        'sdctl;help;runtime;router' {
            break
        }
        'sdctl;help;runtime;sidecar' {
            break
        }
        'sdctl;help;runtime;reclaim' {
            break
        }
        'sdctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
