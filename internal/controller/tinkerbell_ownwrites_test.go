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

package controller

import (
	"testing"

	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// The watch event of the manager's own apply starts no pass; every other event does: a later write by anyone
// (Flux's status), an event whose write was not recorded, and deletions.
func TestOwnWrites_SkipOnlyTheManagersOwnWrite(t *testing.T) {
	g := NewWithT(t)
	w := &lazyWatches{own: &ownWrites{versions: map[types.UID]string{}}}
	p := w.own.notOwnWrites()
	at := func(rv string) *metav1.PartialObjectMetadata {
		return &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{UID: "hr", ResourceVersion: rv}}
	}

	w.wrote(at("10"))
	g.Expect(p.Create(event.CreateEvent{Object: at("10")})).To(BeFalse(), "the create event of our own apply")
	g.Expect(p.Update(event.UpdateEvent{ObjectOld: at("10"), ObjectNew: at("11")})).To(BeTrue(), "Flux's status write")

	w.wrote(at("12"))
	g.Expect(p.Update(event.UpdateEvent{ObjectOld: at("11"), ObjectNew: at("12")})).To(BeFalse(), "the update event of our own apply")
	g.Expect(p.Update(event.UpdateEvent{ObjectOld: at("12"), ObjectNew: at("12")})).To(BeTrue(), "a write is skipped once (a resync is not)")

	w.wrote(at("13"))
	g.Expect(p.Delete(event.DeleteEvent{Object: at("13")})).To(BeTrue())
	g.Expect(w.own.versions).To(BeEmpty(), "a deletion forgets the object")

	var none *lazyWatches
	none.wrote(at("14")) // a reconciler without a manager (unit tests) records nothing
}
