package kit

// Room marks e as a room: an element whose content arrives after the
// page's first render (a list from the server, records from IndexedDB).
// While loaded is false, the console's loader (server/console/loader.go)
// gives it the height it had when its content last loaded in this browser,
// so the content arriving does not push what follows it, and a click
// aimed below it lands where it was aimed. name identifies the room across
// loads; the page's own id for it is a good one.
func Room[E interface{ DataSet(string, any) E }](e E, name string, loaded bool) E {
	return e.DataSet("room", name).DataSet("loaded", BoolText(loaded))
}
