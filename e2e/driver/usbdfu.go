package driver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"trustforge/devices/dfu"
	"trustforge/devices/sim"
)

// usbPort is a simulated USB device behind the WebUSB shim: the host's
// attachment to its current enumeration.
type usbPort struct {
	id  string
	usb *sim.USB

	mu   sync.Mutex
	conn *sim.USBConn // nil while the device is off the bus
	enum int          // numbers the enumerations the page has seen
	stop func()
}

func (s *USBShim) addUSB(id string, u *sim.USB) (*usbPort, error) {
	if _, dup := s.dfu[id]; dup {
		return nil, fmt.Errorf("driver: USB shim device %q listed twice", id)
	}
	p := &usbPort{id: id, usb: u, enum: 1}
	p.conn, _ = u.Attach()
	s.dfu[id] = p
	return p, nil
}

// watchUSB follows the simulated devices' re-enumerations onto the page.
func (s *USBShim) watchUSB() {
	for _, p := range s.dfu {
		p.stop = p.usb.Watch(func(present bool) {
			p.mu.Lock()
			var expr string
			if present {
				p.conn, _ = p.usb.Attach()
				p.enum++
				info := p.usb.Info()
				d, _ := json.Marshal(usbDescription(info))
				expr = fmt.Sprintf("__tfUSBShim.enumerate(%q, %s, %d, %d)", p.id, d, info.Device.ProductID, p.enum)
			} else {
				p.conn = nil
				expr = fmt.Sprintf("__tfUSBShim.enumerate(%q, null, 0, 0)", p.id)
			}
			p.mu.Unlock()
			// The tab may be gone when the test ends; nothing to do then.
			_ = s.eval(expr)
		})
		go func() {
			<-s.ctx.Done()
			p.stop()
		}()
	}
}

// usbRequest is a WebUSB shim call for a simulated USB device.
type usbRequest struct {
	hostRequest
	Enum      int    `json:"enum"`
	Direction string `json:"direction"`
	Setup     struct {
		RequestType string `json:"requestType"`
		Recipient   string `json:"recipient"`
		Request     uint8  `json:"request"`
		Value       uint16 `json:"value"`
		Index       uint16 `json:"index"`
	} `json:"setup"`
	Length int   `json:"length"`
	Iface  uint8 `json:"iface"`
	Alt    uint8 `json:"alt"`
}

// usbReply answers it.
type usbReply struct {
	hostReply
	Status string `json:"status,omitempty"`
}

func (s *USBShim) handleUSB(ctx context.Context, req usbRequest) (usbReply, error) {
	switch req.Op {
	case "control", "setalt", "reset":
	default:
		r, err := s.handle(ctx, req.hostRequest)
		return usbReply{hostReply: r}, err
	}
	p := s.dfu[req.Port]
	if p == nil {
		return usbReply{}, fmt.Errorf("no simulated USB device %q", req.Port)
	}
	p.mu.Lock()
	conn, current := p.conn, p.enum == req.Enum
	p.mu.Unlock()
	if conn == nil || !current {
		return usbReply{hostReply: hostReply{Closed: true}}, nil
	}
	var data []byte
	var err error
	switch req.Op {
	case "control":
		st := dfu.Setup{Request: req.Setup.Request, Value: req.Setup.Value, Index: req.Setup.Index}
		st.Type = map[string]dfu.RequestType{"standard": dfu.Standard, "class": dfu.Class, "vendor": dfu.Vendor}[req.Setup.RequestType]
		st.Recipient = map[string]dfu.Recipient{"device": dfu.ToDevice, "interface": dfu.ToInterface, "endpoint": dfu.ToEndpoint, "other": 3}[req.Setup.Recipient]
		if req.Direction == "in" {
			data, err = conn.ControlIn(ctx, st, req.Length)
		} else {
			err = conn.ControlOut(ctx, st, req.Data)
		}
	case "setalt":
		err = conn.SelectAlternate(ctx, req.Iface, req.Alt)
	case "reset":
		err = conn.Reset(ctx)
	}
	switch {
	case errors.Is(err, dfu.ErrDisconnected):
		return usbReply{hostReply: hostReply{Closed: true}}, nil
	case errors.Is(err, dfu.ErrStall):
		return usbReply{Status: "stall"}, nil
	case err != nil:
		return usbReply{}, err
	}
	return usbReply{hostReply: hostReply{Data: data}, Status: "ok"}, nil
}

// usbDescription is a simulated device's configuration as the shim's
// "usb" member describes it.
func usbDescription(i sim.USBInfo) map[string]any {
	type iface struct {
		n    uint8
		alts []map[string]any
	}
	var ifaces []*iface
	for _, a := range i.Alternates {
		var it *iface
		for _, x := range ifaces {
			if x.n == a.Interface {
				it = x
			}
		}
		if it == nil {
			it = &iface{n: a.Interface}
			ifaces = append(ifaces, it)
		}
		eps := []map[string]any{}
		for _, e := range a.Endpoints {
			dir := "out"
			if e&0x80 != 0 {
				dir = "in"
			}
			eps = append(eps, map[string]any{"endpointNumber": int(e & 0x0f), "direction": dir, "type": "bulk", "packetSize": 64})
		}
		it.alts = append(it.alts, map[string]any{"alternateSetting": int(a.Alternate), "interfaceClass": int(a.Class),
			"interfaceSubclass": int(a.Subclass), "interfaceProtocol": int(a.Protocol), "interfaceName": a.Name, "endpoints": eps})
	}
	var list []map[string]any
	for _, it := range ifaces {
		list = append(list, map[string]any{"interfaceNumber": int(it.n), "alternates": it.alts})
	}
	return map[string]any{"deviceClass": 0, "configurations": []map[string]any{{"configurationValue": 1, "configurationName": "", "interfaces": list}}}
}
