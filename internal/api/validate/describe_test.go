package validate

import (
	"reflect"
	"testing"
)

func TestDescribeStructures(t *testing.T) {
	type Dimension struct {
		Name  *string
		Value *string
	}
	name, value := "InstanceId", "i-1"
	got := describe(reflect.ValueOf([]Dimension{{Name: &name, Value: &value}, {Name: &name}}))
	if want := "'[Dimension(Name=InstanceId, Value=i-1), Dimension(Name=InstanceId)]'"; got != want {
		t.Errorf("describe = %s, want %s", got, want)
	}
}
