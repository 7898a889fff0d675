"""The OpenAPI 3.1 description of the server's routes, served at /openapi.json."""

from dank import __version__
from dank.apps.serve.engine import MAX_SEED
from dank.core import images
from dank.decoding.config import DECODERS, METHOD_PRESETS, PRESETS

# The preset settings of each decoder that the schema spells out.
PRESET_FIELDS = {
    "greedy": ("max_len",),
    "beam": ("beam_size", "max_len"),
    "diverse": ("beam_size", "temperature", "max_len"),
    "sample": ("temperature", "top_p", "max_len"),
    "nucleus": ("temperature", "top_p", "min_len", "no_repeat_ngram", "max_len"),
}


def _decoder_help():
    """Each decoder's settings, read from ``dank.decoding.config.PRESETS``."""
    parts = []
    for name in DECODERS:
        preset = PRESETS[METHOD_PRESETS[name]]
        fields = ", ".join(f"{f} {getattr(preset, f):g}" for f in PRESET_FIELDS[name])
        parts.append(f"{name} ({fields})")
    return "the decoder, with its preset: " + "; ".join(parts)


def _error(description):
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
        },
    }


def _json(description, schema):
    return {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


def openapi(config):
    """The OpenAPI document (a JSON-able dict) for a server with ``config``."""
    generate_fields = {
        "template": {
            "type": "string",
            "description": "template id, name or alias; with no image the "
            "template's own picture is used",
        },
        "n": {"type": "integer", "minimum": 1, "maximum": config.max_n, "default": 1},
        "decoder": {
            "type": "string",
            "enum": list(DECODERS),
            "default": config.decoder,
            "description": _decoder_help(),
        },
        "seed": {
            "type": "integer",
            "minimum": 0,
            "maximum": MAX_SEED,
            "description": "same seed and picture, same captions (unless the "
            "server runs with --max-batch > 1); random when "
            "left out",
        },
    }
    template = {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "aliases": {"type": "array", "items": {"type": "string"}},
            "n_captions": {"type": "integer"},
            "image_url": {"type": "string"},
        },
    }
    meme = {
        "type": "object",
        "properties": {
            "top": {"type": "string"},
            "bottom": {"type": "string"},
            "score": {"type": "number"},
            "url": {"type": "string", "description": "the rendered PNG (expires)"},
        },
    }
    image_help = (
        "a still picture in a format Pillow decodes itself (the first frame of an "
        f"animation or MPO): {', '.join(images.FORMATS)}; at most "
        f"{config.max_upload_bytes} bytes (the whole body) and "
        f"{config.max_pixels} pixels"
    )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "dank serve",
            "version": __version__,
            "description": "Recognise a meme template, caption it, draw it.",
        },
        "paths": {
            "/api/generate": {
                "post": {
                    "summary": "Caption an uploaded picture or a template",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "multipart/form-data": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "image": {
                                            "type": "string",
                                            "format": "binary",
                                            "description": image_help,
                                        },
                                        **generate_fields,
                                    },
                                }
                            },
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["template"],
                                    "properties": generate_fields,
                                }
                            },
                        },
                    },
                    "responses": {
                        "200": _json(
                            "the memes",
                            {
                                "type": "object",
                                "properties": {
                                    "image": {"type": "string"},
                                    "template": template,
                                    "known": {"type": "boolean"},
                                    "decoder": {"type": "string"},
                                    "seed": {"type": "integer"},
                                    "memes": {"type": "array", "items": meme},
                                },
                            },
                        ),
                        "400": _error(
                            "a bad field (bad_field), a malformed form or a form part "
                            f"with over {config.max_part_header_bytes} header bytes "
                            "(bad_form), an empty image (empty_image), or neither an "
                            "image nor a template (missing_input)"
                        ),
                        "404": _error("unknown template"),
                        "411": _error("no Content-Length"),
                        "413": _error(
                            "too large: the body is over the upload limit "
                            "(upload_too_large), the form has over "
                            f"{config.max_form_parts} parts (too_many_parts, "
                            "refused before any part is parsed), or the picture is "
                            "over the pixel limit (too_many_pixels)"
                        ),
                        "415": _error(
                            "not a picture (not_an_image), a refused format "
                            "such as EPS (unsupported_format), a non-image "
                            "type (unsupported_type) or a mislabelled one "
                            "(type_mismatch)"
                        ),
                        "422": _error("a corrupt picture, or no clean caption found"),
                        "429": _error("rate limit; see Retry-After"),
                        "504": _error("the model did not answer in time"),
                    },
                }
            },
            "/api/templates": {
                "get": {
                    "summary": "The template catalogue, searched by name or alias",
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string"}},
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {
                                "type": "integer",
                                "minimum": 1,
                                "maximum": 1000,
                            },
                        },
                    ],
                    "responses": {
                        "200": _json(
                            "matching templates",
                            {
                                "type": "object",
                                "properties": {
                                    "total": {"type": "integer"},
                                    "templates": {"type": "array", "items": template},
                                },
                            },
                        )
                    },
                }
            },
            "/api/templates/{id}/image": {
                "get": {
                    "summary": "A template's picture (JPEG)",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the picture",
                            "content": {"image/jpeg": {}},
                        },
                        "404": _error("unknown template"),
                    },
                }
            },
            "/api/memes/{token}.png": {
                "get": {
                    "summary": "A rendered meme; ?download=1 saves it as a file",
                    "parameters": [
                        {
                            "name": "token",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the meme",
                            "content": {"image/png": {}},
                        },
                        "404": _error("unknown or expired meme"),
                    },
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Liveness and what is loaded",
                    "responses": {"200": _json("ok", {"type": "object"})},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This description",
                    "responses": {"200": _json("OpenAPI", {})},
                }
            },
            "/": {
                "get": {
                    "summary": "The web page",
                    "responses": {"200": {"description": "HTML"}},
                }
            },
        },
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "error": {
                            "type": "object",
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                            },
                        }
                    },
                }
            }
        },
    }
