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
	"encoding/json"
	"errors"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kubetink/kubetink/internal/migration"
)

// A scan holds a page or two, never a whole kind. A page holds at most maxPageSize objects, fewer when they are
// large: about pageBytes of JSON, judged from a few objects of the page before.
const (
	maxPageSize = 500
	minPageSize = 20
	pageBytes   = 4 << 20
)

// scanPage is one page of a scan, or the error that ended it.
type scanPage struct {
	items []unstructured.Unstructured
	err   error
}

// scan lists the objects of t in the Runner's namespaces (Options.Namespaces, one after the other) a page at a
// time and calls fn with each page, in order, while the next page is being fetched. When the apiserver does not serve t (its CRD is not installed) fn
// is never called. fn may keep nothing of a page but what it copies.
func (r *Runner) scan(ctx context.Context, t migration.Target, fn func(page []unstructured.Unstructured) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan scanPage, 1)
	go func() {
		defer close(pages)
		for _, ns := range r.namespaces() {
			if !r.scanNamespace(ctx, t, ns, func(p scanPage) bool {
				select {
				case pages <- p:
					return p.err == nil
				case <-ctx.Done():
					return false
				}
			}) {
				return
			}
		}
	}()
	first := true
	for p := range pages {
		if p.err != nil {
			if first && apierrors.IsNotFound(p.err) {
				return nil
			}
			return fmt.Errorf("failed to list %s: %w", t.CRDName(), p.err)
		}
		first = false
		if err := fn(p.items); err != nil {
			return err
		}
	}
	return ctx.Err()
}

// namespaces returns the namespaces a scan lists, one after the other: Options.Namespaces, or "" (all).
func (r *Runner) namespaces() []string {
	if len(r.opts.Namespaces) == 0 {
		return []string{""}
	}
	return r.opts.Namespaces
}

// scanNamespace lists the objects of t in namespace ns ("" for all) a page at a time and sends each page, or the
// error that ended the list; it stops when send returns false and reports whether the list went to its end.
func (r *Runner) scanNamespace(ctx context.Context, t migration.Target, ns string, send func(scanPage) bool) bool {
	client := r.client.Resource(t.GVR()).Namespace(ns)
	opts := metav1.ListOptions{Limit: maxPageSize}
	for {
		l, err := client.List(ctx, opts)
		if token := expiredContinue(err); token != "" && opts.Continue != "" {
			// The scan outlived etcd's compaction of its snapshot: go on from where it was, now seeing
			// objects as they are. The transforms are idempotent, so an object seen twice changes once.
			opts.Continue = token
			continue
		}
		var p scanPage
		if err != nil {
			p.err = err
		} else {
			p.items = l.Items
			opts.Limit = nextLimit(l.Items) // before the consumer owns the page
		}
		if !send(p) || err != nil {
			return false
		}
		if opts.Continue = l.GetContinue(); opts.Continue == "" {
			return true
		}
	}
}

// nextLimit returns how many objects the next page may hold: about pageBytes of JSON, from the average size of a
// few objects spread over the page.
func nextLimit(items []unstructured.Unstructured) int64 {
	if len(items) == 0 {
		return maxPageSize
	}
	total, n := 0, 0
	for i := 0; i < len(items); i += max(len(items)/4, 1) {
		data, err := json.Marshal(items[i].Object)
		if err != nil {
			continue
		}
		total += len(data)
		n++
	}
	if n == 0 || total == 0 {
		return maxPageSize
	}
	return int64(min(max(pageBytes*n/total, minPageSize), maxPageSize))
}

// expiredContinue returns the continue token an apiserver offers with "410 Gone" for a list whose snapshot was
// compacted, or "".
func expiredContinue(err error) string {
	var status apierrors.APIStatus
	if !apierrors.IsResourceExpired(err) || !errors.As(err, &status) {
		return ""
	}
	return status.Status().Continue
}
