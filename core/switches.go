package core

import (
	"slices"

	"github.com/hypercore-go/hypercore/message"
)

// Upload and download switches (spec/replication.md, "Switches"): JS
// feed.setUploading and feed.setDownloading, and the per-peer
// Peer.setUploading and Peer.setDownloading they call. A switch that
// changes sends the peer a Status with both of the peer's switches.

// switches are a feed's defaults for new peers and the values SetUploading
// and SetDownloading gave every peer.
type switches struct {
	uploadOff   bool  // JS feed.uploading === false
	downloading *bool // JS feed.downloading once set (_downloadingSet); nil: a reader downloads, a writer does not
}

// SetUploading switches uploading on or off for the feed and every
// connected peer (JS feed.setUploading). Each peer whose switch changes is
// sent Status{uploading, downloading}. While off, the feed answers no
// Request and no Want, and Requests waiting for the peer's send queue to
// drain are dropped, as JS drops the answers it is still reading. New peers
// start with the feed's switch (ReplicateOptions.Upload overrides it).
func (f *Feed) SetUploading(on bool) {
	f.mu.Lock()
	defer f.unlock()
	// JS: if (uploading === this.uploading) return
	if f.switches.uploadOff == !on {
		return
	}
	f.switches.uploadOff = !on
	for _, p := range slices.Clone(f.repl.peers) {
		p.setUploading(on)
	}
}

// SetDownloading switches downloading on or off for the feed and every
// connected peer (JS feed.setDownloading). Each peer whose switch changes
// is sent Status{uploading, downloading}. While off, the feed sends no
// Request; requests already in flight are answered and their blocks are
// stored, as in JS. Turning it on again resumes the downloads and waits
// that are pending. New peers start with the feed's switch
// (ReplicateOptions.Download overrides it).
func (f *Feed) SetDownloading(on bool) {
	f.mu.Lock()
	defer f.unlock()
	// JS: if (this.downloading === downloading && this._downloadingSet) return
	if f.switches.downloading != nil && *f.switches.downloading == on {
		return
	}
	f.switches.downloading = &on
	for _, p := range slices.Clone(f.repl.peers) {
		p.setDownloading(on)
	}
}

// Uploading reports the feed's upload switch (JS feed.uploading).
func (f *Feed) Uploading() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.switches.uploadOff
}

// Downloading reports the feed's download switch (JS feed.downloading):
// the value SetDownloading gave, or by default true for a reader and false
// for a writer.
func (f *Feed) Downloading() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.defaultDownloading()
}

func (f *Feed) defaultDownloading() bool {
	if f.switches.downloading != nil {
		return *f.switches.downloading
	}
	return f.secretKey == nil
}

// switchDefaults gives a new peer the feed's switches (JS: the Peer
// constructor reads feed.downloading and feed.uploading).
func (f *Feed) switchDefaults(p *Peer) {
	p.downloading = f.defaultDownloading()
	p.uploading = !f.switches.uploadOff
}

// SetUploading switches uploading on or off for this peer only (JS
// Peer.setUploading); see Feed.SetUploading.
func (p *Peer) SetUploading(on bool) {
	p.feed.mu.Lock()
	defer p.feed.unlock()
	p.setUploading(on)
}

// SetDownloading switches downloading on or off for this peer only (JS
// Peer.setDownloading); see Feed.SetDownloading.
func (p *Peer) SetDownloading(on bool) {
	p.feed.mu.Lock()
	defer p.feed.unlock()
	p.setDownloading(on)
}

// Uploading reports whether we answer this peer's requests.
func (p *Peer) Uploading() bool {
	p.feed.mu.Lock()
	defer p.feed.mu.Unlock()
	return p.uploading
}

// Downloading reports whether we send this peer requests.
func (p *Peer) Downloading() bool {
	p.feed.mu.Lock()
	defer p.feed.mu.Unlock()
	return p.downloading
}

// RemoteUploading reports the peer's last Status: whether it answers our
// requests (true until it says otherwise).
func (p *Peer) RemoteUploading() bool {
	p.feed.mu.Lock()
	defer p.feed.mu.Unlock()
	return p.remoteUploading
}

// RemoteDownloading reports the peer's last Status: whether it will send us
// requests (true until it says otherwise).
func (p *Peer) RemoteDownloading() bool {
	p.feed.mu.Lock()
	defer p.feed.mu.Unlock()
	return p.remoteDownloading
}

// setUploading is JS Peer.setUploading.
func (p *Peer) setUploading(on bool) {
	if p.removed || on == p.uploading {
		return
	}
	p.uploading = on
	p.send(message.NewStatus(on, p.downloading))
	if !on {
		// JS checks uploading again before it sends an answer it was
		// still reading: the Requests parked for the send queue are
		// dropped, not answered later.
		p.budgets.charge(&p.budgets.parked, -int64(len(p.parked)))
		clear(p.parked)
		p.parked = nil
	}
	p.update()
}

// setDownloading is JS Peer.setDownloading.
func (p *Peer) setDownloading(on bool) {
	if p.removed || on == p.downloading {
		return
	}
	p.downloading = on
	p.send(message.NewStatus(p.uploading, on))
	p.update()
}
