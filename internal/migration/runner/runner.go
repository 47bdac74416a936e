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

// Package runner applies a migration plan (internal/migration) to a cluster through a dynamic client: it scans
// the objects each phase's migrations target a page at a time, backs them up (many to a ConfigMap, see backup.go)
// before changing them, writes spec and status through the right endpoints a few objects at once, checks that
// the apiserver kept what was written, and restores objects from the backups. "kubetink migrate" is a thin
// command around it. Memory stays bounded by a few pages, whatever the number of objects.
package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/kubetink/kubetink/internal/migration"
)

// Options select what a Run does.
type Options struct {
	// From and To are the versions of the upgrade.
	From, To string
	// Phases are the phases to run, in order.
	Phases []migration.Phase
	// Namespaces limits the migration to the objects of these namespaces: only they are listed, checked by the
	// preflight, rewritten and backed up. Empty means all namespaces.
	Namespaces []string
	// PublicIP is Tinkerbell's public IP.
	PublicIP string
	// Hosts are further addresses or host names Tinkerbell is reached by.
	Hosts []string
	// ArtifactsFileServer is the to-release's artifacts file server URL, where the legacy stack's Hook URLs go.
	ArtifactsFileServer string
	// BackupNamespace receives the backup ConfigMaps.
	BackupNamespace string
	// DryRun sends every write with dryRun=All: the apiserver validates and prunes but persists nothing.
	DryRun bool
	// SkipPreflight runs the PreUpgrade phase even though the preflight blocks the upgrade (running Workflows or
	// bmc Jobs, CAPT objects not paused) or refuses it (ISO URLs relying on the sourceISO query parameter).
	SkipPreflight bool
	// Workers is how many objects are written at the same time; 0 means DefaultWorkers.
	Workers int
}

// DefaultWorkers is how many objects a Run writes, and a Restore restores, at the same time by default. The
// migration Job is the only client of its ServiceAccount; a few requests in flight keep the apiserver busy
// without crowding out the cluster's controllers.
const DefaultWorkers = 8

// Result is what one migration did.
type Result struct {
	// Migration is the migration's name.
	Migration string
	// Phase is the migration's phase.
	Phase migration.Phase
	// Scanned counts the objects examined, Changed those written (or that would be, in a dry run) and Skipped
	// those that needed nothing.
	Scanned, Changed, Skipped int
	// Objects has one line per object changed or created.
	Objects []string
	// Notes are things the operator should know, e.g. obsolete CRDs still installed.
	Notes []string
}

// Summary returns "<name>: scanned N, changed N, skipped N".
func (r Result) Summary() string {
	return fmt.Sprintf("%s: scanned %d, changed %d, skipped %d", r.Migration, r.Scanned, r.Changed, r.Skipped)
}

// Runner runs the migrations of one upgrade.
type Runner struct {
	client dynamic.Interface
	opts   Options
	env    migration.Env
	plan   []migration.Migration
}

// New checks opts and returns a Runner for the migrations of opts.From → opts.To in opts.Phases.
func New(client dynamic.Interface, opts Options) (*Runner, error) {
	if opts.From == "" || opts.To == "" {
		return nil, errors.New("both the from and the to version are required")
	}
	if len(opts.Phases) == 0 {
		opts.Phases = []migration.Phase{migration.PreUpgrade, migration.PostUpgrade}
	}
	if opts.BackupNamespace == "" {
		return nil, errors.New("a backup namespace is required")
	}
	all, err := migration.Migrations(opts.From, opts.To)
	if err != nil {
		return nil, err
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	r := &Runner{client: client, opts: opts}
	for _, phase := range opts.Phases {
		for _, m := range all {
			if m.Phase == phase {
				r.plan = append(r.plan, m)
			}
		}
	}
	hosts, err := tinkerbellHosts(opts.PublicIP, opts.Hosts)
	if err != nil {
		return nil, err
	}
	if opts.ArtifactsFileServer != "" {
		if err := migration.ValidateArtifactsFileServer(opts.ArtifactsFileServer); err != nil {
			return nil, err
		}
	}
	r.env = migration.Env{From: opts.From, To: opts.To, Hosts: hosts, ArtifactsFileServer: opts.ArtifactsFileServer}
	for _, m := range r.plan {
		if m.NeedsHosts && len(hosts) == 0 {
			return nil, fmt.Errorf("migration %s rewrites URLs that point at Tinkerbell: set the public IP (--public-ip) and any other host Tinkerbell is reached by (--tinkerbell-host)", m.Name)
		}
	}
	if len(hosts) == 0 && !opts.SkipPreflight && slices.Contains(opts.Phases, migration.PreUpgrade) && migration.MayRefuse(opts.From, opts.To) {
		return nil, fmt.Errorf("the upgrade from %s to %s crosses %s, whose Smee ignores the sourceISO query parameter of ISO URLs that point at Tinkerbell: "+
			"set the public IP (--public-ip) and any other host Tinkerbell is reached by (--tinkerbell-host) so that the preflight can find them",
			opts.From, opts.To, migration.SourceISOQueryIgnoredVersion)
	}
	return r, nil
}

// tinkerbellHosts validates and merges the public IP and the extra hosts (IP addresses or DNS names; a name given
// twice in different cases counts once).
func tinkerbellHosts(publicIP string, extra []string) ([]string, error) {
	var hosts []string
	if publicIP != "" {
		if net.ParseIP(publicIP) == nil {
			return nil, fmt.Errorf("invalid public IP %q", publicIP)
		}
		hosts = append(hosts, publicIP)
	}
	for _, h := range extra {
		host, err := migration.NormalizeHost(h)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(hosts, host) {
			hosts = append(hosts, host)
		}
	}
	return hosts, nil
}

// Plan returns the migrations the Runner will run, in order.
func (r *Runner) Plan() []migration.Migration {
	return slices.Clone(r.plan)
}

// Run runs the planned migrations, phase by phase, and returns what each did. Within a phase the migrations
// take effect in order, but each kind is read and written once (see runPhase). It stops at the first error; the
// results of the migrations that ran (in part) are returned with it. report, if not nil, is called with each
// result once its phase is done.
func (r *Runner) Run(ctx context.Context, report func(Result)) ([]Result, error) {
	if err := r.preflight(ctx); err != nil {
		return nil, err
	}
	results := make([]Result, 0, len(r.plan))
	for _, phase := range r.opts.Phases {
		var ms []migration.Migration
		for _, m := range r.plan {
			if m.Phase == phase {
				ms = append(ms, m)
			}
		}
		if len(ms) == 0 {
			continue
		}
		res, err := r.runPhase(ctx, ms)
		for _, x := range res {
			results = append(results, x)
			if report != nil {
				report(x)
			}
		}
		if err != nil {
			return results, err
		}
	}
	return results, nil
}

// preflight refuses the PreUpgrade phase while the upgrade is blocked or refused, by the rules the reconciler
// applies: the legacy stack reinstall waits for running Workflows and bmc Jobs (migration.Preflight) and for
// CAPT's objects to be paused (migration.CAPTBlockers); an upgrade across v0.24.0 is refused while Workflows or
// bmc Jobs rely on the sourceISO query parameter (migration.Refusals). Kinds whose CRD is not installed count as
// empty.
func (r *Runner) preflight(ctx context.Context) error {
	from, to := r.opts.From, r.opts.To
	reinstall, mayRefuse := migration.RequiresReinstall(from, to), migration.MayRefuse(from, to)
	if r.opts.SkipPreflight || !slices.Contains(r.opts.Phases, migration.PreUpgrade) || (!reinstall && !mayRefuse) {
		return nil
	}
	// Workflows and bmc Jobs a page at a time: a fleet has thousands.
	var blocked, refused []string
	for _, t := range migration.BlockerTargets() {
		if err := r.scan(ctx, t, func(page []unstructured.Unstructured) error {
			workflows, jobs := page, []unstructured.Unstructured(nil)
			if t == migration.BMCJobs {
				workflows, jobs = nil, page
			}
			if reinstall {
				for _, b := range migration.Preflight(workflows, jobs) {
					blocked = append(blocked, "  "+b.String())
				}
			}
			for _, rf := range migration.Refusals(from, to, r.env.Hosts, workflows, jobs) {
				refused = append(refused, "  "+rf.String())
			}
			return nil
		}); err != nil {
			return err
		}
	}
	if reinstall {
		capt, err := r.listAll(ctx, migration.CAPTTargets()...)
		if err != nil {
			return err
		}
		for _, b := range migration.CAPTBlockers(from, to, capt[0], capt[1], capt[2]) {
			blocked = append(blocked, "  "+b.String())
		}
	}
	var msgs []string
	if len(blocked) > 0 {
		msgs = append(msgs, fmt.Sprintf("the upgrade from %s to %s must wait until these are finished or paused (or run with --skip-preflight):\n%s",
			from, to, strings.Join(blocked, "\n")))
	}
	if len(refused) > 0 {
		msgs = append(msgs, fmt.Sprintf("the upgrade from %s to %s is refused until these objects are changed (or run with --skip-preflight):\n%s",
			from, to, strings.Join(refused, "\n")))
	}
	if len(msgs) == 0 {
		return nil
	}
	return errors.New(strings.Join(msgs, "\n"))
}

// listAll lists each target whole (for kinds of a few objects, such as CAPT's); a kind whose CRD is not installed
// gives an empty list.
func (r *Runner) listAll(ctx context.Context, targets ...migration.Target) ([][]unstructured.Unstructured, error) {
	out := make([][]unstructured.Unstructured, 0, len(targets))
	for _, t := range targets {
		var items []unstructured.Unstructured
		if err := r.scan(ctx, t, func(page []unstructured.Unstructured) error {
			items = append(items, page...)
			return nil
		}); err != nil {
			return nil, err
		}
		out = append(out, items)
	}
	return out, nil
}

// reportObsolete notes an obsolete CRD that is still installed, with the number of its objects.
func (r *Runner) reportObsolete(ctx context.Context, t migration.Target, res *Result) error {
	if _, err := r.getCRD(ctx, t); apierrors.IsNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	count := 0
	if err := r.scan(ctx, t, func(page []unstructured.Unstructured) error {
		count += len(page)
		return nil
	}); err != nil {
		return err
	}
	res.Notes = append(res.Notes, fmt.Sprintf("obsolete CRD %s is still installed with %d object(s); Kubetink never deletes it: remove it once the data is no longer needed",
		t.CRDName(), count))
	return nil
}

func (r *Runner) createOptions() metav1.CreateOptions {
	if r.opts.DryRun {
		return metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
	}
	return metav1.CreateOptions{}
}

func (r *Runner) updateOptions() metav1.UpdateOptions {
	if r.opts.DryRun {
		return metav1.UpdateOptions{DryRun: []string{metav1.DryRunAll}}
	}
	return metav1.UpdateOptions{}
}

// key returns namespace/name.
func key(obj *unstructured.Unstructured) string {
	if obj.GetNamespace() == "" {
		return obj.GetName()
	}
	return obj.GetNamespace() + "/" + obj.GetName()
}
