"""What a photo says about itself, carried from input to output, and what made the output.

Read from the input's header with Pillow (no pixels decoded): EXIF (date, camera, captions, GPS), the ICC
profile, the resolution (DPI, and whether it was stated per inch or per centimetre), XMP, IPTC (JPEG APP13,
TIFF tag 33723: captions, keywords, credit, dates), PNG text chunks and the TIFF description. Written by inserting the
standard containers into the bytes OpenCV encoded, so that 16-bit and alpha outputs keep going through the
one encoder: JPEG APP segments, PNG chunks, WebP RIFF chunks, TIFF tags in a rewritten first IFD. EXIF is
copied entry by entry with its original types and byte order (Pillow's writer would re-guess types and
mangle non-ASCII captions); the orientation is reset to 1 because the pixels were turned upright when
read, the maker note (camera-private offsets that no longer hold) and the thumbnail (of the gray original)
are left out.

Provenance: every output's EXIF `Software` (and, for PNG, a `Software` text chunk) reads

    Colorized by machine: colorize 0.1.0; model=lsgan; weights=10a87f384af3; saturation=1.15

(`weights` is the first 12 hex digits of the weights file's SHA-256; further `key=value` items, such as
hints, are added by whoever fills the provenance dict). exiftool shows it as `Software`; `read_provenance`
parses it back so that a rerun can tell whether an existing output was made with the same settings."""

from __future__ import annotations

import mmap
import re
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

# formats whose outputs can carry metadata and provenance (BMP cannot)
RECORDS = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp"}
PREFIX = "Colorized by machine: "

# EXIF / TIFF tags
ORIENTATION, SOFTWARE, X_RES, Y_RES, RES_UNIT = 0x0112, 0x0131, 0x011A, 0x011B, 0x0128
EXIF_IFD, GPS_IFD, INTEROP_IFD, MAKER_NOTE = 0x8769, 0x8825, 0xA005, 0x927C
PIXEL_X, PIXEL_Y = 0xA002, 0xA003
ICC_TAG, XMP_TAG, IPTC_TAG = 0x8773, 0x02BC, 0x83BB
INCH, CENTIMETRE = 2, 3  # TIFF/EXIF ResolutionUnit
PHOTOSHOP = b"Photoshop 3.0\x00"
LOSSLESS = 101  # quality of a lossless WebP (OpenCV's convention: above 100 is lossless)
# the IJG (libjpeg) luminance table at quality 50: an input's own table, scaled against it, gives its quality
IJG_LUMINANCE = (16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                 14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99)  # JPEG APP13: Photoshop image resources, of which 0x0404 holds the IPTC records
# descriptive first-IFD tags carried over: description, make, model, date, artist, copyright, Windows XP
# title/comment/author/keywords/subject, rating (the rest of IFD0 describes the old pixel layout)
CARRIED_IFD0 = {0x010E, 0x010F, 0x0110, 0x0132, 0x013B, 0x8298, 0x9C9B, 0x9C9C, 0x9C9D, 0x9C9E, 0x9C9F, 0x4746, 0x4749}
BYTE, ASCII, SHORT, LONG, RATIONAL, UNDEFINED = 1, 2, 3, 4, 5, 7
TYPE_SIZE = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4}
COMPONENT = {3: 2, 8: 2, 4: 4, 9: 4, 13: 4, 11: 4, 5: 4, 10: 4, 12: 8}  # byte-swapped unit of each type


@dataclass
class Entry:
    """One TIFF/EXIF directory entry with its value bytes (in the byte order it was read in)."""
    type: int
    count: int
    data: bytes


@dataclass
class Exif:
    """EXIF as raw directories: the first IFD's carried tags plus the Exif and GPS sub-directories."""
    order: str = "<"  # struct byte order of the entries' data
    ifd0: dict[int, Entry] = field(default_factory=dict)
    exif: dict[int, Entry] = field(default_factory=dict)
    gps: dict[int, Entry] = field(default_factory=dict)


@dataclass
class Metadata:
    exif: Exif | None = None
    orientation: int = 1
    icc: bytes | None = None
    dpi: tuple[float, float] | None = None  # always in dots per inch; `unit` says how the input stated it
    unit: int = INCH  # ResolutionUnit to write: INCH, or CENTIMETRE (a scanner set to dots per cm)
    xmp: bytes | None = None
    iptc: bytes | None = None  # IPTC-NAA records (captions, keywords, credit, dates: what archives catalogue)
    quality: int | None = None  # the input's JPEG quality (estimated from its tables), LOSSLESS for a lossless WebP
    text: dict[str, str] = field(default_factory=dict)  # PNG text chunks


# -- reading ----------------------------------------------------------------------------------------

def read(path: Path) -> Metadata:
    """The metadata of an image file from its header; an empty Metadata if it has none or is unreadable
    (a broken file is reported by the decoder, once)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # media.check_pixels applies our own limit
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                info = dict(image.info)
                tiff, png = image.format == "TIFF", image.format == "PNG"
                xmp = info.get("xmp") or info.get("XML:com.adobe.xmp")
                unit = INCH
                if tiff and hasattr(image, "tag_v2"):
                    xmp = xmp if xmp is not None else image.tag_v2.get(XMP_TAG)
                    unit = image.tag_v2.get(RES_UNIT, INCH)
                elif image.format == "JPEG" and info.get("jfif_unit") == 2:
                    unit = CENTIMETRE
                iptc = _photoshop_iptc(b"".join(data for marker, data in getattr(image, "applist", [])
                                                if marker == "APP13" and data.startswith(PHOTOSHOP)))
                quality = jpeg_quality(image.quantization) if image.format == "JPEG" else None
                if image.format == "WEBP":
                    quality = LOSSLESS if _webp_is_lossless(path) else None
    except Exception:
        return Metadata()
    meta = Metadata(icc=info.get("icc_profile") or None, xmp=_as_bytes(xmp), iptc=iptc, quality=quality)
    dpi = info.get("dpi")
    try:  # TIFF gives IFDRational values; a TIFF in centimetres is converted to dpi by Pillow
        dpi = dpi and (float(dpi[0]), float(dpi[1]))
    except (TypeError, ValueError, ZeroDivisionError, IndexError):
        dpi = None
    if dpi and all(0 < v < 1e6 for v in dpi):
        meta.dpi, meta.unit = dpi, (CENTIMETRE if unit == CENTIMETRE else INCH)
    if png:  # text chunks (other formats' info holds decoder settings, not text)
        meta.text = {k: v for k, v in info.items() if isinstance(v, str) and k != "Software" and k != "XML:com.adobe.xmp"
                     and not k.startswith("Raw profile type")}  # ImageMagick's hex EXIF copy would bring the old orientation back
    try:
        if tiff:
            with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as buffer:
                meta.exif = parse_exif(buffer)
                order = {b"II": "<", b"MM": ">"}[bytes(buffer[:2])]
                entry = _read_ifd(buffer, struct.unpack(order + "I", buffer[4:8])[0], order).get(IPTC_TAG)
                meta.iptc = entry.data if entry is not None and entry.data else meta.iptc
        elif info.get("exif"):
            blob = info["exif"]
            meta.exif = parse_exif(blob[6:] if blob[:6] == b"Exif\x00\x00" else blob)
    except (ValueError, struct.error, OSError):
        meta.exif = None  # unreadable EXIF: the photo is still colorized, without it
    if meta.exif is not None and ORIENTATION in meta.exif.ifd0:
        meta.orientation = _value(meta.exif, meta.exif.ifd0[ORIENTATION])
    return meta


def jpeg_quality(tables: dict) -> int | None:
    """The IJG quality (1-100) a JPEG's luminance table was made with: its size against the standard table's
    (the order of the entries does not matter), inverted through libjpeg's quality scaling."""
    table = (tables or {}).get(0)
    if not table or len(table) != 64:
        return None
    scale = 100 * sum(table) / sum(IJG_LUMINANCE)
    quality = (200 - scale) / 2 if scale <= 100 else 5000 / scale
    return max(1, min(100, round(quality)))


def _webp_is_lossless(path) -> bool:
    """Is the WebP's image a VP8L (lossless) bitstream? Reads the chunk headers only."""
    with open(path, "rb") as f:
        header = f.read(12)
        if header[:4] != b"RIFF" or header[8:12] != b"WEBP":
            return False
        while chunk := f.read(8):
            if len(chunk) < 8:
                return False
            kind, length = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if kind in (b"VP8 ", b"VP8L"):
                return kind == b"VP8L"
            f.seek(length + length % 2, 1)
    return False


def _photoshop_iptc(resources: bytes) -> bytes | None:
    """The IPTC-NAA records (resource 0x0404) of JPEG APP13 Photoshop resources; the other resources (a
    thumbnail of the gray original, print settings) are not carried."""
    found, at = [], 0
    for segment in resources.split(PHOTOSHOP)[1:]:
        at = 0
        while at + 12 <= len(segment) and segment[at:at + 4] == b"8BIM":
            kind = struct.unpack(">H", segment[at + 4:at + 6])[0]
            name_length = segment[at + 6]
            at += 6 + name_length + 1 + (name_length + 1) % 2  # Pascal name padded to an even size
            size = struct.unpack(">I", segment[at:at + 4])[0]
            data = segment[at + 4:at + 4 + size]
            at += 4 + size + size % 2
            if kind == 0x0404:
                found.append(data)
    return b"".join(found) or None


def _as_bytes(value) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, tuple):  # Pillow gives a TIFF BYTE tag as a tuple of ints in some versions
        return bytes(value)
    return bytes(value)


def parse_exif(buffer) -> Exif:
    """Raw EXIF directories from TIFF-structured bytes (an EXIF blob, or a whole TIFF file)."""
    order = {b"II": "<", b"MM": ">"}.get(bytes(buffer[:2]))
    if order is None or struct.unpack(order + "H", buffer[2:4])[0] != 42:
        raise ValueError("not TIFF-structured EXIF")
    first = struct.unpack(order + "I", buffer[4:8])[0]
    ifd0 = _read_ifd(buffer, first, order)
    exif = Exif(order, {t: e for t, e in ifd0.items() if t in CARRIED_IFD0 or t == ORIENTATION})
    for pointer, target in ((EXIF_IFD, "exif"), (GPS_IFD, "gps")):
        entry = ifd0.get(pointer)
        if entry is not None and entry.type in (LONG, 13) and len(entry.data) >= 4:
            sub = _read_ifd(buffer, struct.unpack(order + "I", entry.data[:4])[0], order)
            if pointer == EXIF_IFD:  # offsets inside these would point at nothing in the new file
                for tag in (MAKER_NOTE, INTEROP_IFD):
                    sub.pop(tag, None)
            setattr(exif, target, sub)
    return exif


def _read_ifd(buffer, offset: int, order: str) -> dict[int, Entry]:
    entries: dict[int, Entry] = {}
    if not 8 <= offset <= len(buffer) - 2:
        return entries
    count = struct.unpack(order + "H", buffer[offset:offset + 2])[0]
    for i in range(min(count, 1000)):
        at = offset + 2 + 12 * i
        if at + 12 > len(buffer):
            break
        tag, kind, n = struct.unpack(order + "HHI", buffer[at:at + 8])
        size = TYPE_SIZE.get(kind, 1) * n
        if kind not in TYPE_SIZE or size > len(buffer):
            continue
        if size <= 4:
            data = bytes(buffer[at + 8:at + 8 + size])
        else:
            start = struct.unpack(order + "I", buffer[at + 8:at + 12])[0]
            if start + size > len(buffer):
                continue
            data = bytes(buffer[start:start + size])
        entries[tag] = Entry(kind, n, data)
    return entries


def _value(exif: Exif, entry: Entry) -> int:
    fmt = {SHORT: "H", LONG: "I"}.get(entry.type)
    return struct.unpack(exif.order + fmt, entry.data[:struct.calcsize(fmt)])[0] if fmt and entry.data else 1


# -- provenance ---------------------------------------------------------------------------------------

def provenance_text(provenance: dict) -> str:
    """{'tool': 'colorize 0.1.0', 'model': 'lsgan', ...} -> the one-line record stored in outputs."""
    items = [f"{key}={_clean(value)}" for key, value in provenance.items() if key != "tool"]
    return PREFIX + "; ".join([str(provenance.get("tool", "colorize"))] + items)


def _clean(value) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return text.replace(";", ",").replace("\n", " ")


def parse_provenance(text: str | None) -> dict | None:
    if not text or not text.startswith(PREFIX):
        return None
    tool, *items = text[len(PREFIX):].split("; ")
    record = {"tool": tool}
    for item in items:
        key, _, value = item.partition("=")
        record[key] = value
    return record


def same_settings(record: dict | None, provenance: dict) -> bool:
    """Was an output with this `record` made with the settings in `provenance` (the tool's version aside)?"""
    if record is None:
        return False
    settings = {key: _clean(value) for key, value in provenance.items() if key != "tool"}
    return {key: value for key, value in record.items() if key != "tool"} == settings


def describe(record: dict | None) -> str:
    """'lsgan (weights 10a87f384af3, saturation 1.15)' for a provenance record or dict, for messages."""
    if record is None:
        return "another program or an earlier colorize (no colorize record)"
    details = ", ".join(f"{key} {_clean(value)}" for key, value in record.items() if key not in ("tool", "model"))
    return f"{record.get('model', '?')} ({details})" if details else str(record.get("model", "?"))


def read_provenance(path: Path) -> dict | None:
    """The provenance record of an image made by colorize, or None (none recorded, or not readable)."""
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                text = image.info.get("Software") if image.format == "PNG" else None
                if text is None:
                    software = image.getexif().get(SOFTWARE)
                    if isinstance(software, bytes):
                        software = software.decode("utf-8", "replace")
                    elif isinstance(software, str):  # Pillow decodes EXIF ASCII as Latin-1: undo it, then UTF-8
                        software = software.encode("latin-1", "replace").decode("utf-8", "replace")
                    text = software
    except Exception:
        return None
    return parse_provenance(text.rstrip("\x00") if isinstance(text, str) else None)


# -- writing ------------------------------------------------------------------------------------------

def embed(encoded: bytes, suffix: str, size: tuple[int, int], meta: Metadata | None, provenance: dict | None) -> bytes:
    """Insert `meta` (reset to upright) and the provenance record into an encoded image of `size` (width,
    height). Formats that cannot hold metadata (BMP) come back unchanged."""
    suffix = suffix.lower()
    if suffix not in RECORDS or (meta is None and provenance is None):
        return encoded
    meta = meta or Metadata()
    software = provenance_text(provenance).encode("utf-8") if provenance else None
    xmp = _upright_xmp(meta.xmp) if meta.xmp else None
    if suffix in (".jpg", ".jpeg"):
        return _jpeg(encoded, meta, xmp, software, size)
    if suffix == ".png":
        return _png(encoded, meta, xmp, software, size)
    if suffix == ".webp":
        return _webp(encoded, meta, xmp, software, size)
    return _tiff(encoded, meta, xmp, software, size)


def _upright_xmp(xmp: bytes) -> bytes:
    xmp = re.sub(rb'(tiff:Orientation\s*=\s*["\'])\d(["\'])', rb"\g<1>1\g<2>", xmp)
    return re.sub(rb"(<tiff:Orientation>)\s*\d\s*(</tiff:Orientation>)", rb"\g<1>1\g<2>", xmp)


def _output_exif(meta: Metadata, software: bytes | None, size: tuple[int, int], order: str) -> Exif:
    """The EXIF an output carries: the input's descriptive tags, upright, its resolution, our Software."""
    source = meta.exif or Exif(order)
    exif = Exif(order, {t: _to_order(e, source.order, order) for t, e in source.ifd0.items() if t in CARRIED_IFD0},
                {t: _to_order(e, source.order, order) for t, e in source.exif.items()},
                {t: _to_order(e, source.order, order) for t, e in source.gps.items()})
    exif.ifd0[ORIENTATION] = Entry(SHORT, 1, struct.pack(order + "H", 1))
    if software:
        exif.ifd0[SOFTWARE] = Entry(ASCII, len(software) + 1, software + b"\0")
    if meta.dpi:
        per_unit = 2.54 if meta.unit == CENTIMETRE else 1.0
        for tag, value in ((X_RES, meta.dpi[0] / per_unit), (Y_RES, meta.dpi[1] / per_unit)):
            exif.ifd0[tag] = Entry(RATIONAL, 1, struct.pack(order + "II", *_rational(value)))
        exif.ifd0[RES_UNIT] = Entry(SHORT, 1, struct.pack(order + "H", meta.unit))
    if exif.exif:  # the pixel size the Exif directory states is the output's (turned upright)
        for tag, value in ((PIXEL_X, size[0]), (PIXEL_Y, size[1])):
            if tag in exif.exif:
                exif.exif[tag] = Entry(LONG, 1, struct.pack(order + "I", value))
    return exif


def _rational(value: float) -> tuple[int, int]:
    return (round(value), 1) if abs(value - round(value)) < 1e-3 else (round(value * 1000), 1000)


def _to_order(entry: Entry, source: str, target: str) -> Entry:
    unit = COMPONENT.get(entry.type)
    if source == target or unit is None:
        return entry
    data = b"".join(entry.data[i:i + unit][::-1] for i in range(0, len(entry.data), unit))
    return Entry(entry.type, entry.count, data)


def _ifd_bytes(entries: dict[int, Entry], position: int, order: str, next_ifd: int = 0) -> bytes:
    """One directory placed at `position` (offsets count from the TIFF header): entries sorted by tag,
    then the values that do not fit in an entry, each at an even offset."""
    head = struct.pack(order + "H", len(entries))
    aux_at = position + 2 + 12 * len(entries) + 4
    table, aux = [], b""
    for tag in sorted(entries):
        entry = entries[tag]
        if len(entry.data) <= 4:
            value = entry.data.ljust(4, b"\0")
        else:
            value = struct.pack(order + "I", aux_at + len(aux))
            aux += entry.data + (b"\0" if len(entry.data) % 2 else b"")
        table.append(struct.pack(order + "HHI", tag, entry.type, entry.count) + value)
    return head + b"".join(table) + struct.pack(order + "I", next_ifd) + aux


def _directories(first: dict[int, Entry], exif: Exif, position: int, order: str, next_ifd: int = 0) -> bytes:
    """`first` (the first IFD) at `position`, followed by the Exif and GPS sub-directories it points to."""
    first = dict(first)
    subs = [(tag, entries) for tag, entries in ((EXIF_IFD, exif.exif), (GPS_IFD, exif.gps)) if entries]
    for tag, _ in subs:
        first[tag] = Entry(LONG, 1, b"\0\0\0\0")  # placeholder of the right size
    at = position + len(_ifd_bytes(first, position, order))
    tails = b""
    for tag, entries in subs:
        first[tag] = Entry(LONG, 1, struct.pack(order + "I", at + len(tails)))
        tails += _ifd_bytes(entries, at + len(tails), order)
    return _ifd_bytes(first, position, order, next_ifd) + tails


def exif_blob(exif: Exif) -> bytes:
    """TIFF-structured EXIF (without the JPEG 'Exif\\0\\0' prefix)."""
    order = exif.order
    header = (b"II" if order == "<" else b"MM") + struct.pack(order + "HI", 42, 8)
    return header + _directories(exif.ifd0, exif, 8, order)


def _small_exif(exif: Exif, limit: int) -> bytes:
    """EXIF within `limit` bytes: sub-directories are dropped if the whole does not fit (a JPEG segment)."""
    blob = exif_blob(exif)
    return blob if len(blob) <= limit else exif_blob(Exif(exif.order, exif.ifd0))


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _jpeg(encoded: bytes, meta: Metadata, xmp: bytes | None, software: bytes | None, size) -> bytes:
    if encoded[:2] != b"\xff\xd8":
        return encoded
    at = 2
    head = b"\xff\xd8"
    if encoded[2:4] == b"\xff\xe0" and encoded[6:11] == b"JFIF\x00":  # keep JFIF first, with the resolution
        length = struct.unpack(">H", encoded[4:6])[0]
        app0 = bytearray(encoded[2:4 + length])
        if meta.dpi:
            per_cm = meta.unit == CENTIMETRE
            app0[11] = 2 if per_cm else 1  # units: dots per centimetre or per inch
            app0[12:16] = struct.pack(">HH", *(max(1, min(65535, round(v / 2.54 if per_cm else v))) for v in meta.dpi))
        head += bytes(app0)
        at = 4 + length
    exif = _output_exif(meta, software, size, (meta.exif.order if meta.exif else ">"))
    segments = [_segment(0xE1, b"Exif\x00\x00" + _small_exif(exif, 65533 - 8))]
    if xmp and len(xmp) <= 65000:
        segments.append(_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp))
    if meta.iptc and len(meta.iptc) <= 65000:
        resource = b"8BIM\x04\x04\x00\x00" + struct.pack(">I", len(meta.iptc)) + meta.iptc + b"\0" * (len(meta.iptc) % 2)
        segments.append(_segment(0xED, PHOTOSHOP + resource))
    if meta.icc:
        pieces = [meta.icc[i:i + 65519] for i in range(0, len(meta.icc), 65519)]
        if len(pieces) <= 255:
            segments += [_segment(0xE2, b"ICC_PROFILE\x00" + bytes([n, len(pieces)]) + piece)
                         for n, piece in enumerate(pieces, start=1)]
    return head + b"".join(segments) + encoded[at:]


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def _text_chunk(key: str, value: str) -> bytes:
    key = key[:79]
    try:
        return _chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))
    except UnicodeEncodeError:  # international text: iTXt, uncompressed, no language tag
        return _chunk(b"iTXt", key.encode("latin-1", "replace") + b"\0\0\0\0\0" + value.encode("utf-8"))


def _png(encoded: bytes, meta: Metadata, xmp: bytes | None, software: bytes | None, size) -> bytes:
    if encoded[:8] != b"\x89PNG\r\n\x1a\n" or encoded[12:16] != b"IHDR":
        return encoded
    at = 8 + 12 + struct.unpack(">I", encoded[8:12])[0]  # after IHDR
    chunks = []
    if meta.icc:
        chunks.append(_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(meta.icc)))
    if meta.dpi:
        chunks.append(_chunk(b"pHYs", struct.pack(">IIB", *(round(v / 0.0254) for v in meta.dpi), 1)))
    chunks.append(_chunk(b"eXIf", exif_blob(_output_exif(meta, software, size, meta.exif.order if meta.exif else ">"))))
    chunks += [_text_chunk(key, value) for key, value in meta.text.items()]
    if software:
        chunks.append(_text_chunk("Software", software.decode("utf-8")))
    if xmp:
        chunks.append(_chunk(b"iTXt", b"XML:com.adobe.xmp\x00\x00\x00\x00\x00" + xmp))
    return encoded[:at] + b"".join(chunks) + encoded[at:]


def _riff_chunk(kind: bytes, payload: bytes) -> bytes:
    return kind + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")


def _webp(encoded: bytes, meta: Metadata, xmp: bytes | None, software: bytes | None, size) -> bytes:
    if encoded[:4] != b"RIFF" or encoded[8:12] != b"WEBP":
        return encoded
    chunks, at = [], 12
    while at + 8 <= len(encoded):
        kind, length = encoded[at:at + 4], struct.unpack("<I", encoded[at + 4:at + 8])[0]
        chunks.append((kind, encoded[at + 8:at + 8 + length]))
        at += 8 + length + length % 2
    flags = 0
    if chunks and chunks[0][0] == b"VP8X":
        flags = chunks[0][1][0] & 0x12  # keep alpha and animation
        chunks = chunks[1:]
    if any(kind == b"ALPH" for kind, _ in chunks) or any(
            kind == b"VP8L" and len(data) >= 5 and (struct.unpack("<I", data[1:5])[0] >> 28) & 1 for kind, data in chunks):
        flags |= 0x10
    chunks = [(k, d) for k, d in chunks if k not in (b"ICCP", b"EXIF", b"XMP ")]
    exif = exif_blob(_output_exif(meta, software, size, meta.exif.order if meta.exif else "<"))
    flags |= 0x08 | (0x20 if meta.icc else 0) | (0x04 if xmp else 0)
    width, height = size
    vp8x = bytes([flags, 0, 0, 0]) + struct.pack("<I", width - 1)[:3] + struct.pack("<I", height - 1)[:3]
    body = _riff_chunk(b"VP8X", vp8x) + (_riff_chunk(b"ICCP", meta.icc) if meta.icc else b"")
    body += b"".join(_riff_chunk(k, d) for k, d in chunks) + _riff_chunk(b"EXIF", exif)
    body += _riff_chunk(b"XMP ", xmp) if xmp else b""
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body


def _tiff(encoded: bytes, meta: Metadata, xmp: bytes | None, software: bytes | None, size) -> bytes:
    """Append a new first IFD (the encoder's entries plus ours) and point the header at it: the pixel data
    and every offset the encoder wrote stay where they were."""
    order = {b"II": "<", b"MM": ">"}.get(encoded[:2])
    if order is None or struct.unpack(order + "H", encoded[2:4])[0] != 42:  # BigTIFF (> 4 GB) is left as encoded
        return encoded
    first_at = struct.unpack(order + "I", encoded[4:8])[0]
    own = _read_ifd(encoded, first_at, order)
    count = struct.unpack(order + "H", encoded[first_at:first_at + 2])[0]
    next_ifd = struct.unpack(order + "I", encoded[first_at + 2 + 12 * count:first_at + 6 + 12 * count])[0]
    exif = _output_exif(meta, software, size, order)
    first = {**own, **exif.ifd0}
    if meta.icc:
        first[ICC_TAG] = Entry(UNDEFINED, len(meta.icc), meta.icc)
    if xmp:
        first[XMP_TAG] = Entry(BYTE, len(xmp), xmp)
    if meta.iptc:
        first[IPTC_TAG] = Entry(UNDEFINED, len(meta.iptc), meta.iptc)
    start = len(encoded) + len(encoded) % 2
    tail = _directories(first, exif, start, order, next_ifd)
    header = encoded[:4] + struct.pack(order + "I", start)
    return header + encoded[8:] + (b"\0" if len(encoded) % 2 else b"") + tail
