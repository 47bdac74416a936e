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

package render

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	kubetinkv1alpha1 "github.com/kubetink/kubetink/api/v1alpha1"
)

// ToYAML writes objects as one multi-document YAML stream, keys sorted, in the given order.
func ToYAML(objs []*unstructured.Unstructured) ([]byte, error) {
	var buf bytes.Buffer
	for i, u := range objs {
		if u == nil {
			return nil, fmt.Errorf("object %d is nil", i)
		}
		out, err := yaml.Marshal(u.Object)
		if err != nil {
			return nil, fmt.Errorf("failed to encode %s %s: %w", u.GetKind(), u.GetName(), err)
		}
		buf.WriteString("---\n")
		buf.Write(out)
	}
	return buf.Bytes(), nil
}

// Decode reads exactly one Tinkerbell object from YAML or JSON, strictly (see DecodeAll).
func Decode(data []byte) (*kubetinkv1alpha1.Tinkerbell, error) {
	objs, err := DecodeAll(data)
	if err != nil {
		return nil, err
	}
	if len(objs) != 1 {
		return nil, fmt.Errorf("found %d YAML documents; expected one Tinkerbell object", len(objs))
	}
	return objs[0], nil
}

// DecodeAll reads one or more Tinkerbell objects from multi-document YAML (or one JSON object). Each document
// must be a kubetink.io/v1alpha1 Tinkerbell; unknown and duplicate fields are errors, as the API server reports
// them. An error names the document (counted from 1) when there are several.
func DecodeAll(data []byte) ([]*kubetinkv1alpha1.Tinkerbell, error) {
	docs, err := Documents(data)
	if err != nil {
		return nil, err
	}
	objs := make([]*kubetinkv1alpha1.Tinkerbell, 0, len(docs))
	for i, doc := range docs {
		obj, err := decodeOne(doc)
		if err != nil && len(docs) > 1 {
			return nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		if err != nil {
			return nil, err
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// Documents splits multi-document YAML into its documents, leaving out those that hold only comments: the
// documents DecodeAll decodes, in its order.
func Documents(data []byte) ([][]byte, error) {
	var docs [][]byte
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("failed to read YAML: %w", err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) > 0 {
			docs = append(docs, doc)
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no Tinkerbell object found")
	}
	return docs, nil
}

func decodeOne(doc []byte) (*kubetinkv1alpha1.Tinkerbell, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, fmt.Errorf("invalid Tinkerbell object: %w", err)
	}
	if gv := kubetinkv1alpha1.GroupVersion.String(); tm.APIVersion != gv || tm.Kind != kubetinkv1alpha1.TinkerbellKind {
		return nil, fmt.Errorf("apiVersion/kind is %q/%q, expected %s/%s", tm.APIVersion, tm.Kind, gv, kubetinkv1alpha1.TinkerbellKind)
	}
	// The strict API machinery decoder matches field names case-sensitively, as the API server does, and
	// reports unknown and duplicate fields.
	obj := &kubetinkv1alpha1.Tinkerbell{}
	if _, _, err := strictDecoder.Decode(doc, nil, obj); err != nil {
		return nil, fmt.Errorf("invalid Tinkerbell object: %w", err)
	}
	obj.TypeMeta = tm
	return obj, nil
}

// strictDecoder decodes Kubetink objects from YAML, rejecting unknown fields.
var strictDecoder = func() runtime.Decoder {
	s := runtime.NewScheme()
	utilruntime.Must(kubetinkv1alpha1.AddToScheme(s))
	return kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, s, s, kjson.SerializerOptions{Yaml: true, Strict: true})
}()

// stripComments drops YAML comment lines, so a document of only comments counts as empty.
func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.SplitSeq(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			out = append(out, line...)
			out = append(out, '\n')
		}
	}
	return out
}
