package lambda

import (
	"archive/zip"
	"bytes"
	"net/http"
	"strings"
	"testing"
	"time"

	api "github.com/nephele-dev/nephele/internal/api/lambda"
)

func TestCreateFunctionRejects(t *testing.T) {
	good := func(t *testing.T) *api.CreateFunctionInput {
		return &api.CreateFunctionInput{
			FunctionName: ptr("f"), Runtime: ptr("python3.12"), Handler: ptr("app.handler"), Role: ptr(testRole),
			Code: &api.FunctionCode{ZipFile: zipOf(t, map[string]string{"app.py": "x"})},
		}
	}
	tests := []struct {
		name   string
		change func(*api.CreateFunctionInput)
		code   string
		msg    string
	}{
		{"reserved_environment_key", func(in *api.CreateFunctionInput) {
			in.Environment = &api.Environment{Variables: map[string]string{"AWS_REGION": "x", "OK": "1"}}
		}, "InvalidParameterValueException", "Reserved keys used in this request: AWS_REGION"},
		{"environment_over_4KB", func(in *api.CreateFunctionInput) {
			in.Environment = &api.Environment{Variables: map[string]string{"BIG": strings.Repeat("x", 4100)}}
		}, "InvalidParameterValueException", "exceeded the 4KB limit"},
		{"timeout_over_900", func(in *api.CreateFunctionInput) { in.Timeout = ptr(int32(901)) }, "InvalidParameterValueException", "less than or equal to 900"},
		{"memory_over_10240", func(in *api.CreateFunctionInput) { in.MemorySize = ptr(int32(10241)) }, "InvalidParameterValueException", "10240"},
		{"not_a_zip", func(in *api.CreateFunctionInput) { in.Code.ZipFile = []byte("nope") }, "InvalidParameterValueException", "Could not unzip uploaded file"},
		{"zip_over_50MB", func(in *api.CreateFunctionInput) { in.Code.ZipFile = make([]byte, maxZipped+1) }, "RequestEntityTooLargeException", "69905067"},
		{"deprecated_runtime", func(in *api.CreateFunctionInput) { in.Runtime = ptr("python2.7") }, "InvalidParameterValueException", "no longer supported"},
		{"six_layers", func(in *api.CreateFunctionInput) {
			for i := range 6 {
				in.Layers = append(in.Layers, "arn:aws:lambda:us-east-1:123456789012:layer:l:"+string(rune('1'+i)))
			}
		}, "InvalidParameterValueException", "more than 5 layers"},
		{"missing_layer", func(in *api.CreateFunctionInput) {
			in.Layers = []string{"arn:aws:lambda:us-east-1:123456789012:layer:nope:1"}
		}, "InvalidParameterValueException", "does not exist"},
		{"qualified_name", func(in *api.CreateFunctionInput) { in.FunctionName = ptr("f:1") }, "InvalidParameterValueException", "qualifier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fx := newFixture(t)
			in := good(t)
			tt.change(in)
			_, err := fx.s.CreateFunction(fx.ctx, in)
			ae := wantCode(t, err, tt.code, 0)
			if !strings.Contains(ae.Message, tt.msg) {
				t.Errorf("message %q lacks %q", ae.Message, tt.msg)
			}
			// Nothing half-created.
			_, err = fx.s.GetFunction(fx.ctx, &api.GetFunctionInput{FunctionName: ptr("f")})
			wantCode(t, err, "ResourceNotFoundException", http.StatusNotFound)
		})
	}
}

func TestUnzippedLimit(t *testing.T) {
	// An entry whose header says it unzips to over 250 MB: the limit is
	// checked from the headers, before anything is unpacked.
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	fw, err := w.CreateRaw(&zip.FileHeader{Name: "big", Method: zip.Store, CompressedSize64: 1, UncompressedSize64: maxUnzipped + 1})
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte{0})
	w.Close()
	b := buf.Bytes()
	if _, err := inspectZip(b); err == nil || !strings.Contains(err.Error(), "Unzipped size must be smaller than 262144000 bytes") {
		t.Fatalf("inspectZip = %v", err)
	}
}

func TestFunctionLifecycle(t *testing.T) {
	fx := newFixture(t)
	out, err := fx.s.CreateFunction(fx.ctx, &api.CreateFunctionInput{
		FunctionName: ptr("f"), Runtime: ptr("python3.12"), Handler: ptr("app.handler"), Role: ptr(testRole),
		Code: &api.FunctionCode{ZipFile: zipOf(t, map[string]string{"app.py": "x"})},
	})
	if err != nil {
		t.Fatal(err)
	}
	if str(out.State) != "Pending" || str(out.LastUpdateStatus) != "InProgress" {
		t.Errorf("new function: State %s LastUpdateStatus %s", str(out.State), str(out.LastUpdateStatus))
	}
	if *out.Timeout != 3 || *out.MemorySize != 128 || *out.EphemeralStorage.Size != 512 || out.Architectures[0] != "x86_64" {
		t.Errorf("defaults: %d s %d MB %d MB %v", *out.Timeout, *out.MemorySize, *out.EphemeralStorage.Size, out.Architectures)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.000-0700", str(out.LastModified)); err != nil || !strings.HasSuffix(str(out.LastModified), "+0000") {
		t.Errorf("LastModified %q: %v", str(out.LastModified), err)
	}
	if str(out.FunctionArn) != "arn:aws:lambda:us-east-1:123456789012:function:f" {
		t.Errorf("FunctionArn %s", str(out.FunctionArn))
	}
	// Invoking a Pending function is a conflict, as on AWS.
	_, err = fx.s.Invoke(fx.ctx, &api.InvokeInput{FunctionName: ptr("f")})
	wantCode(t, err, "ResourceConflictException", http.StatusConflict)

	_, err = fx.s.CreateFunction(fx.ctx, &api.CreateFunctionInput{
		FunctionName: ptr("f"), Runtime: ptr("python3.12"), Handler: ptr("app.handler"), Role: ptr(testRole),
		Code: &api.FunctionCode{ZipFile: zipOf(t, map[string]string{"app.py": "x"})},
	})
	ae := wantCode(t, err, "ResourceConflictException", http.StatusConflict)
	if ae.Message != "Function already exist: f" {
		t.Errorf("duplicate message %q", ae.Message)
	}

	fx.clk.Advance(DefaultStateDelay)
	cfg, err := fx.s.GetFunctionConfiguration(fx.ctx, &api.GetFunctionConfigurationInput{FunctionName: ptr("f")})
	if err != nil || str(cfg.State) != "Active" || str(cfg.LastUpdateStatus) != "Successful" {
		t.Fatalf("after delay: %v %v", cfg, err)
	}
	up, err := fx.s.UpdateFunctionConfiguration(fx.ctx, &api.UpdateFunctionConfigurationInput{FunctionName: ptr("f"), Timeout: ptr(int32(10))})
	if err != nil || str(up.LastUpdateStatus) != "InProgress" || str(up.RevisionId) == str(cfg.RevisionId) {
		t.Fatalf("update: %v %v", up, err)
	}
	_, err = fx.s.UpdateFunctionConfiguration(fx.ctx, &api.UpdateFunctionConfigurationInput{FunctionName: ptr("f"), Timeout: ptr(int32(11))})
	ae = wantCode(t, err, "ResourceConflictException", http.StatusConflict)
	if !strings.Contains(ae.Message, "An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:f") {
		t.Errorf("in-progress message %q", ae.Message)
	}
	fx.clk.Advance(DefaultStateDelay)
	_, err = fx.s.UpdateFunctionConfiguration(fx.ctx, &api.UpdateFunctionConfigurationInput{FunctionName: ptr("f"), RevisionId: ptr("stale")})
	wantCode(t, err, "PreconditionFailedException", http.StatusPreconditionFailed)

	_, err = fx.s.GetFunction(fx.ctx, &api.GetFunctionInput{FunctionName: ptr("nope")})
	ae = wantCode(t, err, "ResourceNotFoundException", http.StatusNotFound)
	if ae.Message != "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope" {
		t.Errorf("not found message %q", ae.Message)
	}
	g, err := fx.s.GetFunction(fx.ctx, &api.GetFunctionInput{FunctionName: ptr("arn:aws:lambda:us-east-1:123456789012:function:f")})
	if err != nil || !strings.Contains(str(g.Code.Location), "/_nephele/lambda/code/123456789012/us-east-1/") {
		t.Fatalf("GetFunction by ARN: %v %v", g, err)
	}
	if _, err := fx.s.DeleteFunction(fx.ctx, &api.DeleteFunctionInput{FunctionName: ptr("f")}); err != nil {
		t.Fatal(err)
	}
	_, err = fx.s.GetFunction(fx.ctx, &api.GetFunctionInput{FunctionName: ptr("f")})
	wantCode(t, err, "ResourceNotFoundException", http.StatusNotFound)
}

func TestListFunctionsPages(t *testing.T) {
	fx := newFixture(t)
	for _, n := range []string{"c", "a", "b", "d", "e"} {
		fx.create(t, n)
	}
	var names []string
	var marker *string
	for range 10 {
		out, err := fx.s.ListFunctions(fx.ctx, &api.ListFunctionsInput{MaxItems: ptr(int32(2)), Marker: marker})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range out.Functions {
			names = append(names, str(f.FunctionName))
		}
		if marker = out.NextMarker; marker == nil {
			break
		}
	}
	if got := strings.Join(names, ","); got != "a,b,c,d,e" {
		t.Errorf("listed %s", got)
	}
}

func TestParseFunction(t *testing.T) {
	tests := []struct {
		in, q    string
		name, qq string
		bad      bool
	}{
		{"f", "", "f", "", false},
		{"f:live", "", "f", "live", false},
		{"123456789012:function:f", "", "f", "", false},
		{"arn:aws:lambda:us-east-1:123456789012:function:f:3", "", "f", "3", false},
		{"arn:aws:lambda:us-east-1:123456789012:function:f:3", "3", "f", "3", false},
		{"arn:aws:lambda:us-east-1:123456789012:function:f:3", "4", "", "", true},
	}
	for _, tt := range tests {
		var q *string
		if tt.q != "" {
			q = ptr(tt.q)
		}
		ref, err := parseFunction(tt.in, q)
		if (err != nil) != tt.bad || (!tt.bad && (ref.name != tt.name || ref.qualifier != tt.qq)) {
			t.Errorf("parseFunction(%q, %q) = %+v, %v", tt.in, tt.q, ref, err)
		}
	}
}

func TestInspectZipRefusesEscapingEntries(t *testing.T) {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.Create("../outside.py")
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("x = 1\n"))
	w.Close()
	if _, err := inspectZip(buf.Bytes()); err == nil {
		t.Fatal("a zip whose entry escapes its directory was accepted")
	}
	if _, err := inspectZip([]byte("not a zip")); err == nil {
		t.Fatal("garbage was accepted as a zip")
	}
}
