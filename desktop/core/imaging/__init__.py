"""Imaging: decode a frame, then modality LUT -> VOI/window -> display, in pure numpy.

Qt only wraps the result (an 8-bit grey or RGB array) in a QImage.
"""
