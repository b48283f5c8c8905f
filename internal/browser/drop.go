//go:build js && wasm

package browser

import (
	"github.com/hack-pad/safejs"
)

// ListenDrop makes the element whose id is id a drop zone for files:
// dragging over it is allowed (and marks it with the class "drag-over"),
// and dropping files calls onDrop with them. onDrop runs in the browser's
// event handler: it must not block; hand the files to a goroutine. Call
// the returned function to stop listening.
func ListenDrop(id string, onDrop func([]File)) (stop func(), err error) {
	el, err := ElementByID(id)
	if err != nil {
		return nil, err
	}
	mark := func(on bool) {
		cl, err := el.Get("classList")
		if err != nil {
			return
		}
		if on {
			Call(cl, "add", "drag-over")
		} else {
			Call(cl, "remove", "drag-over")
		}
	}
	over, err := safejs.FuncOf(func(this safejs.Value, args []safejs.Value) any {
		if len(args) > 0 {
			Call(args[0], "preventDefault")
		}
		mark(true)
		return nil
	})
	if err != nil {
		return nil, err
	}
	leave, err := safejs.FuncOf(func(this safejs.Value, args []safejs.Value) any {
		mark(false)
		return nil
	})
	if err != nil {
		over.Release()
		return nil, err
	}
	drop, err := safejs.FuncOf(func(this safejs.Value, args []safejs.Value) any {
		mark(false)
		if len(args) == 0 {
			return nil
		}
		ev := args[0]
		Call(ev, "preventDefault")
		dt, err := ev.Get("dataTransfer")
		if err != nil || dt.IsNull() || dt.IsUndefined() {
			return nil
		}
		list, err := dt.Get("files")
		if err != nil {
			return nil
		}
		files, err := FilesOf(list)
		if err == nil && len(files) > 0 {
			onDrop(files)
		}
		return nil
	})
	if err != nil {
		over.Release()
		leave.Release()
		return nil, err
	}
	listeners := []struct {
		kind string
		f    safejs.Func
	}{{"dragover", over}, {"dragenter", over}, {"dragleave", leave}, {"drop", drop}}
	for _, l := range listeners {
		if _, err := Call(el, "addEventListener", l.kind, l.f.Value()); err != nil {
			over.Release()
			leave.Release()
			drop.Release()
			return nil, err
		}
	}
	return func() {
		for _, l := range listeners {
			Call(el, "removeEventListener", l.kind, l.f.Value())
		}
		over.Release()
		leave.Release()
		drop.Release()
	}, nil
}
