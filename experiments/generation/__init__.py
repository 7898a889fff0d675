"""Generation experiments: decoders, humour reranking, safety mitigation."""
