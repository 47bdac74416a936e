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

package migration

import (
	"testing"

	. "github.com/onsi/gomega"
)

func TestTemplateRenderingAcrossV020(t *testing.T) {
	g := NewWithT(t)
	wf := testObject(t, "v0.19.0", "Workflow", "wf-done")

	// The v0.22 CRD prunes the misspelt key: without the capture the value would be lost.
	lost := wf.DeepCopy()
	pruneAs(t, lost, "v0.22.1")
	g.Expect(nestedString(lost, "status", "templateRending")).To(BeEmpty())

	changed, err := CaptureTemplateRendering(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	g.Expect(wf.GetAnnotations()).To(HaveKeyWithValue(TemplateRenderingAnnotation, "successful"))
	captured := wf.DeepCopy()
	changed, err = CaptureTemplateRendering(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
	g.Expect(wf.Object).To(Equal(captured.Object))

	pruneAs(t, wf, "v0.22.1")
	changed, err = ConvertTemplateRendering(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	g.Expect(nestedString(wf, "status", "templateRendering")).To(Equal("successful"))
	g.Expect(wf.GetAnnotations()).NotTo(HaveKey(TemplateRenderingAnnotation))

	converted := wf.DeepCopy()
	pruneAs(t, wf, "v0.22.1")
	g.Expect(wf.Object).To(Equal(converted.Object), "the converted Workflow survives the new CRD")
	changed, err = ConvertTemplateRendering(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
	// A late capture under the new CRD sees nothing and changes nothing.
	changed, err = CaptureTemplateRendering(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeFalse())
}

func TestConvertTemplateRenderingKeepsControllerValue(t *testing.T) {
	g := NewWithT(t)
	wf := testObject(t, "v0.19.0", "Workflow", "wf-done")
	_, _ = CaptureTemplateRendering(wf, Env{})
	pruneAs(t, wf, "v0.22.1")
	g.Expect(setNested(wf.Object, "failed", "status", "templateRendering")).To(Succeed())

	changed, err := ConvertTemplateRendering(wf, Env{})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(changed).To(BeTrue())
	g.Expect(nestedString(wf, "status", "templateRendering")).To(Equal("failed"))
	g.Expect(wf.GetAnnotations()).NotTo(HaveKey(TemplateRenderingAnnotation))
}
