package sdk

// Evaluator is implemented by scheduler plugins (loaded by scheduler).
type Evaluator interface {
	// EvaluateParents returns parents ordered from best to worst for child.
	EvaluateParents(parents []*Peer, child *Peer, totalPieceCount int32) []*Peer
	// IsBadNode reports whether peer should not be used as a parent.
	IsBadNode(peer *Peer) bool
}

// Peer is a peer taking part in a task.
type Peer struct {
	ID                 string
	Host               string
	FinishedPieces     int32
	UploadFailedCount  int32
	UploadSuccessCount int32
}
