"""image -> template -> caption as compiled ``tf.function``s, then the drawn meme."""
