/*
Copyright 2026 The Kubetink Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/kubetink/kubetink/internal/migration"
	"github.com/kubetink/kubetink/internal/migration/runner"
	"github.com/kubetink/kubetink/internal/version"
)

// migrateOptions are the flags of "kubetink migrate".
type migrateOptions struct {
	kubeconfig      string
	from, to        string
	phase           string
	dryRun          bool
	namespaces      []string
	publicIP        string
	hosts           []string
	artifacts       string
	backupNamespace string
	restore         []string
	skipPreflight   bool
	verbose         bool
	concurrent      int
	kubeAPIQPS      float32
	kubeAPIBurst    int
}

func newMigrateCommand() *cobra.Command {
	o := &migrateOptions{}
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Migrate Tinkerbell objects from one Tinkerbell release to another",
		Long: `Migrate runs the migrations of an upgrade from --from to --to against the cluster: it rewrites the
Tinkerbell objects (Workflows, Templates, Hardware, Rufio Jobs and Tasks, BaseboardManagements) that the new
release reads differently, and moves the URLs in them that point at Tinkerbell's own address (--public-ip,
--tinkerbell-host) to the ports and paths the new release serves. The PreUpgrade phase runs while the old
release's CRDs are installed, the PostUpgrade phase once the new release's CRDs are installed. Every object is
backed up before it is changed, many objects to a ConfigMap labelled kubetink.io/migration=<name> (in
--backup-namespace), and --restore puts the backups back. Running it again changes nothing. CRDs and objects are
never deleted; obsolete CRDs are reported. It reads the objects a page at a time, each once per phase, and writes
--concurrent of them at once.

The Kubetink controller runs it as a Job for each phase; run it by hand to preview (--dry-run), to migrate a
stack upgraded by other means, or to restore.`,
		Example: `  # Preview the PreUpgrade phase of the legacy stack upgrade.
  kubetink migrate --from 0.6.2 --to v0.22.1 --phase pre --dry-run

  # Run the PostUpgrade phase once the v0.23.0 CRDs are installed, for the objects of two namespaces only.
  kubetink migrate --from v0.22.1 --to v0.23.0 --phase post --public-ip 192.168.2.111 --tinkerbell-host tink.example.com \
    --namespace site-a --namespace site-b

  # Leave the legacy stack: its Hook file server URLs move to the new artifacts file server.
  kubetink migrate --from 0.6.2 --to v0.25.0 --phase post --public-ip 192.168.2.111 \
    --artifacts-file-server http://192.168.2.112:7173

  # Put back every object the PostUpgrade phase changed.
  kubetink migrate --from v0.22.1 --to v0.23.0 --phase post --restore all`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runMigrate(cmd, o)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "Path to a kubeconfig; defaults to $KUBECONFIG, then the in-cluster config.")
	fs.StringVar(&o.from, "from", "", `The Tinkerbell version installed now, e.g. "0.6.2" (legacy stack) or "v0.19.0".`)
	fs.StringVar(&o.to, "to", "", `The Tinkerbell version to upgrade to, e.g. "v0.22.1".`)
	fs.StringVar(&o.phase, "phase", "all", "Which migrations to run: pre (before the upgrade), post (after it) or all.")
	fs.BoolVar(&o.dryRun, "dry-run", false, "Send every change with dryRun=All: the apiserver validates it but stores nothing.")
	fs.StringArrayVarP(&o.namespaces, "namespace", "n", nil, "Only migrate (or restore) the objects of this namespace; repeat it for several (default: all namespaces). The preflight, the backups and the restore look only there.")
	fs.StringVar(&o.publicIP, "public-ip", "", "Tinkerbell's public IP: only URLs on Tinkerbell's own addresses follow its port and path changes.")
	fs.StringArrayVar(&o.hosts, "tinkerbell-host", nil, "Another host name (matched in any case) or address Tinkerbell is reached by (repeatable).")
	fs.StringVar(&o.artifacts, "artifacts-file-server", "", "The new release's artifacts file server URL (spec.artifactsFileServer): leaving the legacy stack, URLs of its Hook file server (port 8080 on Tinkerbell's address) move there; without it they are left and listed.")
	fs.StringVar(&o.backupNamespace, "backup-namespace", "default", "Namespace of the backup ConfigMaps.")
	fs.StringSliceVar(&o.restore, "restore", nil, `Restore the objects the named migrations changed, in the order given, instead of migrating; "all" restores the migrations of --from/--to/--phase, latest first.`)
	fs.BoolVar(&o.skipPreflight, "skip-preflight", false, "Run the pre-upgrade phase even though the preflight blocks the upgrade (running Workflows or bmc Jobs, CAPT objects not paused) or refuses it (ISO URLs relying on ?sourceISO=).")
	fs.BoolVarP(&o.verbose, "verbose", "v", false, "Print a line for every object changed.")
	fs.IntVar(&o.concurrent, "concurrent", runner.DefaultWorkers, "How many objects are written (or restored) at the same time.")
	fs.Float32Var(&o.kubeAPIQPS, "kube-api-qps", 500, "Maximum queries per second to the Kubernetes API; negative means no limit.")
	fs.IntVar(&o.kubeAPIBurst, "kube-api-burst", 1000, "Maximum burst of requests to the Kubernetes API.")
	return cmd
}

func runMigrate(cmd *cobra.Command, o *migrateOptions) error {
	phases, err := migration.ParsePhases(o.phase)
	if err != nil {
		return err
	}
	if len(o.restore) > 0 {
		return runRestore(cmd, o, phases)
	}
	if o.from == "" || o.to == "" {
		return errors.New("--from and --to are required")
	}
	if _, err := migration.Migrations(o.from, o.to); err != nil {
		return err
	}
	if o.artifacts != "" {
		if err := migration.ValidateArtifactsFileServer(o.artifacts); err != nil {
			return fmt.Errorf("--artifacts-file-server: %w", err)
		}
	}
	client, err := migrateClient(o)
	if err != nil {
		return err
	}
	r, err := runner.New(client, runner.Options{
		From: o.from, To: o.to, Phases: phases, Namespaces: o.namespaces,
		PublicIP: o.publicIP, Hosts: o.hosts, ArtifactsFileServer: o.artifacts, BackupNamespace: o.backupNamespace,
		DryRun: o.dryRun, SkipPreflight: o.skipPreflight, Workers: o.concurrent,
	})
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if o.dryRun {
		fmt.Fprintln(out, "Dry run: the apiserver validates every change but stores nothing.")
	}
	// Run even an empty plan: its preflight may still block or refuse the upgrade.
	_, err = r.Run(cmd.Context(), func(res runner.Result) {
		printLines(out, res.Summary(), res.Notes, res.Objects, o.verbose)
	})
	if err == nil && len(r.Plan()) == 0 {
		fmt.Fprintf(out, "No migrations for %s → %s in phase %s.\n", o.from, o.to, o.phase)
	}
	return err
}

// runRestore restores the backups of the named migrations ("all": the plan's, latest first).
func runRestore(cmd *cobra.Command, o *migrateOptions, phases []migration.Phase) error {
	names := o.restore
	if slices.Contains(names, "all") {
		if len(names) > 1 {
			return errors.New(`--restore all cannot be combined with migration names`)
		}
		if o.from == "" || o.to == "" {
			return errors.New("--restore all needs --from and --to")
		}
		ms, err := migration.Migrations(o.from, o.to)
		if err != nil {
			return err
		}
		names = nil
		for _, m := range slices.Backward(ms) {
			if slices.Contains(phases, m.Phase) {
				names = append(names, m.Name)
			}
		}
	}
	for _, n := range names {
		if _, ok := migration.Get(n); !ok {
			return fmt.Errorf("unknown migration %q", n)
		}
	}
	client, err := migrateClient(o)
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	if o.dryRun {
		fmt.Fprintln(out, "Dry run: the apiserver validates every change but stores nothing.")
	}
	results, err := runner.Restore(cmd.Context(), client, runner.RestoreOptions{
		Migrations: names, BackupNamespace: o.backupNamespace, Namespaces: o.namespaces, DryRun: o.dryRun,
		Workers: o.concurrent,
	})
	for _, res := range results {
		printLines(out, res.Summary(), res.Notes, res.Objects, o.verbose)
	}
	return err
}

func printLines(out io.Writer, summary string, notes, objects []string, verbose bool) {
	fmt.Fprintln(out, summary)
	for _, n := range notes {
		fmt.Fprintln(out, "  note: "+n)
	}
	if verbose {
		for _, l := range objects {
			fmt.Fprintln(out, "  "+l)
		}
	}
}

// migrateClient returns a dynamic client for --kubeconfig (or $KUBECONFIG, then the in-cluster config). Its
// rate limits are the flags', whichever config it comes from: the migration talks to the apiserver alone, and
// --concurrent bounds the requests in flight.
func migrateClient(o *migrateOptions) (dynamic.Interface, error) {
	var (
		cfg *rest.Config
		err error
	)
	if o.kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	} else {
		cfg, err = ctrl.GetConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("failed to load the Kubernetes client config: %w", err)
	}
	cfg.UserAgent = strings.Join([]string{controllerName, "migrate", version.Version}, "/")
	cfg.QPS, cfg.Burst = o.kubeAPIQPS, o.kubeAPIBurst
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to create the Kubernetes client: %w", err)
	}
	return client, nil
}
