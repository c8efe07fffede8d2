"""ActivityPub protocol library: vocabulary, HTTP signatures, WebFinger, NodeInfo. Knows nothing of fedi."""
