# SHIM: stands in for transformers/models/deprecated/_archive_maps.py (only the name the FNet config imports)
FNET_PRETRAINED_CONFIG_ARCHIVE_MAP = {}
