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

package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubetink/kubetink/internal/migration"
)

// runPhase runs the migrations of one phase as if one after the other, but reads and writes each kind once:
//
//  1. It checks, before writing anything, that the installed CRDs declare every field a rewrite of the phase
//     must write (Rewrite.RequiredFields); if one does not, the phase fails with nothing written.
//  2. It runs each migration's notes, obsolete-CRD reports and creations, in order.
//  3. For each kind rewritten, it scans the objects once and passes each object through the transforms of every
//     migration in order, each on what the one before left, as separate runs would have written them. Each
//     migration that changes the object backs up the state it found, so that its backup is what a run of that
//     migration alone would have backed up, and the object is written once with the final state.
//
// Creations therefore take place before the rewrites of earlier migrations, which no transform can tell: each
// transform depends on its object alone.
func (r *Runner) runPhase(ctx context.Context, ms []migration.Migration) ([]Result, error) {
	results := make([]Result, len(ms))
	for i, m := range ms {
		results[i] = Result{Migration: m.Name, Phase: m.Phase}
	}
	var passes []*pass
	for i, m := range ms {
		for j, rw := range m.Rewrites {
			if len(rw.RequiredFields) > 0 {
				installed, err := r.checkSchema(ctx, rw.Target, rw.RequiredFields)
				if err != nil {
					return results[i : i+1], fmt.Errorf("migration %s failed: %w (the %s phase runs once the CRDs of %s are installed)",
						m.Name, err, m.Phase, r.opts.To)
				}
				if !installed {
					continue
				}
			}
			idx := slices.IndexFunc(passes, func(p *pass) bool { return p.target == rw.Target })
			if idx < 0 {
				idx = len(passes)
				passes = append(passes, &pass{target: rw.Target})
			}
			passes[idx].steps = append(passes[idx].steps, step{migration: i, rewrite: j, name: m.Name, rw: rw})
		}
	}
	for i, m := range ms {
		if err := r.prepare(ctx, m, &results[i]); err != nil {
			return results[:i+1], fmt.Errorf("migration %s failed: %w", m.Name, err)
		}
	}
	// Objects and notes per migration and rewrite, to list them in the order of the rewrites.
	lines, notes := make([][][]string, len(ms)), make([][][]string, len(ms))
	for i, m := range ms {
		lines[i], notes[i] = make([][]string, len(m.Rewrites)), make([][]string, len(m.Rewrites))
	}
	var err error
	for _, p := range passes {
		if err = r.rewrite(ctx, p, results, lines, notes); err != nil {
			break
		}
	}
	for i := range ms {
		for j := range lines[i] {
			results[i].Objects = append(results[i].Objects, lines[i][j]...)
			results[i].Notes = append(results[i].Notes, notes[i][j]...)
		}
	}
	return results, err
}

// prepare does what a migration does before its rewrites: notes, obsolete-CRD reports, creations.
func (r *Runner) prepare(ctx context.Context, m migration.Migration, res *Result) error {
	if m.Reinstall {
		res.Notes = append(res.Notes, "the reconciler uninstalls the legacy stack release and installs the unified chart; CRDs and objects are kept")
	}
	for _, t := range m.Obsolete {
		if err := r.reportObsolete(ctx, t, res); err != nil {
			return err
		}
	}
	if m.Create != nil {
		return r.create(ctx, m, res)
	}
	return nil
}

// pass is the rewrites of one kind in a phase, in the order the migrations run them.
type pass struct {
	target migration.Target
	steps  []step
}

// step is one Rewrite of one migration.
type step struct {
	// migration and rewrite index the migration in the phase and the rewrite in the migration.
	migration, rewrite int
	name               string
	rw                 migration.Rewrite
}

// chain passes obj through the steps in order. It returns the final state and the indexes of the steps that
// changed something, and calls backup with each of those and the state it found. report, if not nil, is called
// with every step and the state it found.
func (r *Runner) chain(steps []step, obj *unstructured.Unstructured, report func(i int, found *unstructured.Unstructured),
	backup func(i int, found *unstructured.Unstructured) error) (*unstructured.Unstructured, []int, error) {
	cur := obj
	var changed []int
	for i, s := range steps {
		if report != nil {
			report(i, cur)
		}
		next := cur.DeepCopy()
		c, err := s.rw.Transform(next, r.env)
		if err != nil {
			return nil, nil, fmt.Errorf("migration %s failed: failed to migrate %s %s: %w", s.name, s.rw.Target.Kind, key(obj), err)
		}
		if !c {
			continue
		}
		if err := backup(i, cur); err != nil {
			return nil, nil, err
		}
		changed = append(changed, i)
		cur = next
	}
	return cur, changed, nil
}

// rewrite runs one pass, a page at a time: it passes each object through the steps, stores the backups of the
// page, and hands the changed objects to Workers writers, which write them while the next page is fetched and
// prepared. No object is written before its backups are stored.
func (r *Runner) rewrite(ctx context.Context, p *pass, results []Result, lines, notes [][][]string) error {
	writers, wctx := errgroup.WithContext(ctx)
	writers.SetLimit(r.opts.Workers)
	var mu sync.Mutex
	changedLines, stepNotes := make([][]string, len(p.steps)), make([][]string, len(p.steps))
	report := func(si int, found *unstructured.Unstructured) {
		rw := p.steps[si].rw
		if rw.Report == nil {
			return
		}
		for _, n := range rw.Report(found, r.env) {
			stepNotes[si] = append(stepNotes[si], fmt.Sprintf("%s %s: %s", rw.Target.Kind, key(found), n))
		}
	}
	// The callback's errors name their migrations; a failed list names the pass's.
	var pageErr error
	fail := func(err error) error {
		pageErr = err
		return err
	}
	scanErr := r.scan(wctx, p.target, func(page []unstructured.Unstructured) error {
		sets := make([][]*backupSet, len(p.steps)) // per step, the last one open
		var writes []*pendingWrite
		for i := range page {
			obj := &page[i]
			for _, s := range p.steps {
				results[s.migration].Scanned++
			}
			final, changed, err := r.chain(p.steps, obj, report, func(si int, found *unstructured.Unstructured) error {
				var err error
				sets[si], err = addToSets(sets[si], p.steps[si].name, p.target, actionUpdated, found)
				return err
			})
			if err != nil {
				return fail(err)
			}
			for si, s := range p.steps {
				if !slices.Contains(changed, si) {
					results[s.migration].Skipped++
				}
			}
			if len(changed) > 0 {
				w := planWrite(obj, final)
				w.changed = changed
				writes = append(writes, w)
			}
			obj.Object = nil // only the objects to write stay in memory
		}
		for si, set := range sets {
			for _, b := range set {
				if err := r.store(wctx, b); err != nil {
					return fail(fmt.Errorf("migration %s failed: %w", p.steps[si].name, err))
				}
			}
		}
		for _, w := range writes {
			writers.Go(func() error {
				if wctx.Err() != nil {
					return nil // another write failed: its error is the one reported
				}
				if err := r.writeObject(wctx, p, w); err != nil {
					return fmt.Errorf("migration %s failed: failed to migrate %s %s: %w", p.names(w.changed), p.target.Kind, key(w.desired), err)
				}
				mu.Lock()
				defer mu.Unlock()
				for _, si := range w.changed {
					results[p.steps[si].migration].Changed++
					changedLines[si] = append(changedLines[si], fmt.Sprintf("changed %s %s", p.target.Kind, key(w.desired)))
				}
				return nil
			})
		}
		return nil
	})
	// A failed write cancels the scan: its error is the cause.
	err := writers.Wait()
	for si, s := range p.steps {
		slices.Sort(changedLines[si])
		lines[s.migration][s.rewrite] = changedLines[si]
		notes[s.migration][s.rewrite] = stepNotes[si]
	}
	if err != nil {
		return err
	}
	if scanErr != nil && pageErr == nil {
		return fmt.Errorf("migration %s failed: %w", p.names(nil), scanErr)
	}
	return scanErr
}

// names returns the names of the migrations of the given steps (all when nil), for errors.
func (p *pass) names(steps []int) string {
	var out []string
	for i, s := range p.steps {
		if (steps == nil || slices.Contains(steps, i)) && !slices.Contains(out, s.name) {
			out = append(out, s.name)
		}
	}
	return strings.Join(out, ", ")
}
