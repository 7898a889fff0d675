"""Drawing captions onto images in the classic meme style."""
