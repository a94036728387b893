package vectors

// Storage is vectors/storage.json: feed directories written by hypercore
// 9.12.0, embedded under storage/.
type Storage struct {
	Header
	Directories []Group[DirectoryTest]
}

// DirectoryTest describes one directory: where it is in FS, what the feed
// holds (Blocks[i] is nil for a block not stored), and every file in hex
// (nil for a file that does not exist).
type DirectoryTest struct {
	Case
	Directory    string          `json:"directory"`
	Key          Hex             `json:"key"`
	DiscoveryKey Hex             `json:"discoveryKey"`
	Writable     bool            `json:"writable"`
	Length       uint64          `json:"length"`
	ByteLength   uint64          `json:"byteLength"`
	Blocks       []Hex           `json:"blocks"`
	Files        map[string]*Hex `json:"files"`
}

func init() { register("storage.json", func() error { _, err := LoadStorage(); return err }) }

// LoadStorage loads vectors/storage.json.
func LoadStorage() (*Storage, error) {
	v := new(Storage)
	err := load("storage.json", &v.Header, func(typ string, raw []byte) error {
		if typ == "DirectoryTest" {
			return decodeGroup(raw, &v.Directories)
		}
		return errUnknownGroup(typ)
	})
	return v, err
}
