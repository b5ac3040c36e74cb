#!/usr/bin/env python3
"""Generates ModelwireCodec's Swift value types and their protobuf-c mapping from a descriptor set.

Usage: swift_codec.py DESCRIPTOR_SET OUTPUT_DIR C_TARGET_DIR

Reads the FileDescriptorSet that `protoc --include_source_info --descriptor_set_out` wrote for
proto/, and writes one Swift file per .proto file (value types in the `V<n>` namespace, with the
.proto comments as doc comments, plus the conversion to and from the protobuf-c structs that
protoc-c generated), and `Schema.swift` with the namespaces. It also writes the descriptor set's
bytes as a C array into the C target (C_TARGET_DIR/descriptor_set.c), so the server can serve it
without reading a file at run time. Output is deterministic.
Run through tools/regen-protos; tools/check-generated verifies the committed output.
"""
import os
import re
import sys

from google.protobuf import descriptor_pb2

FD = descriptor_pb2.FieldDescriptorProto

SWIFT_KEYWORDS = {
    "associatedtype", "class", "deinit", "enum", "extension", "func", "import", "init", "inout",
    "internal", "let", "operator", "private", "protocol", "public", "static", "struct",
    "subscript", "typealias", "var", "break", "case", "continue", "default", "defer", "do",
    "else", "fallthrough", "for", "guard", "if", "in", "repeat", "return", "switch", "where",
    "while", "as", "catch", "false", "is", "nil", "rethrows", "super", "self", "Self", "throw",
    "throws", "true", "try", "Type", "Protocol",
}

# Scalar proto types: (Swift type, zero literal, C -> Swift expression, Swift -> C expression).
SCALARS = {
    FD.TYPE_FLOAT: ("Float", "0"),
    FD.TYPE_DOUBLE: ("Double", "0"),
    FD.TYPE_UINT32: ("UInt32", "0"),
    FD.TYPE_UINT64: ("UInt64", "0"),
    FD.TYPE_INT32: ("Int32", "0"),
    FD.TYPE_INT64: ("Int64", "0"),
    FD.TYPE_SINT32: ("Int32", "0"),
    FD.TYPE_SINT64: ("Int64", "0"),
}


def camel_to_lower(name):
    """protoc-c's naming: FooBar -> foo_bar."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", name).lower()


def lower_camel(snake):
    parts = snake.split("_")
    out = parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    return f"`{out}`" if out in SWIFT_KEYWORDS else out


def upper_camel(snake):
    return "".join(p[:1].upper() + p[1:] for p in snake.split("_"))


def enum_case_name(enum_name, value_name):
    prefix = camel_to_lower(enum_name).upper() + "_"
    short = value_name[len(prefix):] if value_name.startswith(prefix) else value_name
    return lower_camel(short.lower())


class File:
    def __init__(self, fdp, types):
        self.fdp = fdp
        self.types = types
        pkg = fdp.package.split(".")  # modelwire.v1
        self.namespace = pkg[-1].upper()  # V1
        self.c_prefix = "__".join(p.capitalize() for p in pkg)  # Modelwire__V1
        self.c_func_prefix = "__".join(pkg)  # modelwire__v1
        self.comments = {}
        for loc in fdp.source_code_info.location:
            text = (loc.leading_comments or loc.trailing_comments).strip()
            if text:
                self.comments[tuple(loc.path)] = text

    def doc(self, path, indent):
        text = self.comments.get(tuple(path))
        if not text:
            return []
        return [f"{indent}/// {line.strip()}".rstrip() for line in text.splitlines()]


def swift_type_name(full_name, types):
    f, kind, name = types[full_name]
    return f"{f.namespace}.{name}"


def c_type_name(full_name, types):
    f, kind, name = types[full_name]
    return f"{f.c_prefix}__{name}"


def c_func(full_name, types):
    f, kind, name = types[full_name]
    return f"{f.c_func_prefix}__{camel_to_lower(name)}"


class Field:
    def __init__(self, fdp, msg, index, file):
        self.f = fdp
        self.msg = msg
        self.index = index
        self.file = file
        self.c = fdp.name
        self.swift = lower_camel(fdp.name)
        self.repeated = fdp.label == FD.LABEL_REPEATED
        self.in_oneof = fdp.HasField("oneof_index")

    def is_message(self):
        return self.f.type == FD.TYPE_MESSAGE

    def is_enum(self):
        return self.f.type == FD.TYPE_ENUM

    def base_type(self, types):
        t = self.f.type
        if t in SCALARS:
            return SCALARS[t][0]
        if t == FD.TYPE_BOOL:
            return "Bool"
        if t == FD.TYPE_STRING:
            return "String"
        if t == FD.TYPE_BYTES:
            return "[UInt8]"
        if t in (FD.TYPE_MESSAGE, FD.TYPE_ENUM):
            return swift_type_name(self.f.type_name, types)
        raise SystemExit(f"unsupported field type {t} in {self.msg.name}.{self.f.name}")

    def swift_type(self, types):
        base = self.base_type(types)
        if self.repeated:
            return f"[{base}]"
        if self.is_message():
            return f"{base}?"
        return base

    def default(self, types):
        if self.repeated:
            return "[]"
        t = self.f.type
        if t in SCALARS:
            return SCALARS[t][1]
        return {FD.TYPE_BOOL: "false", FD.TYPE_STRING: '""', FD.TYPE_BYTES: "[]"}.get(
            t, "nil" if self.is_message() else f"{self.base_type(types)}(rawValue: 0)")

    def field_label(self):
        return f"{self.msg.name}.{self.f.name}"

    # Swift expression reading this (non-repeated) field from the C value `src` (a C struct member access).
    def decode_single(self, src, types):
        t = self.f.type
        if t in SCALARS:
            return src
        if t == FD.TYPE_BOOL:
            return f"{src} != 0"
        if t == FD.TYPE_STRING:
            return f'try decodeString({src}, field: "{self.field_label()}")'
        if t == FD.TYPE_BYTES:
            return f"decodeBytes({src})"
        if t == FD.TYPE_ENUM:
            return f"{self.base_type(types)}(rawValue: Int32(bitPattern: {src}.rawValue))"
        if t == FD.TYPE_MESSAGE:
            decoder = "decodeOneofMessage" if self.in_oneof else "decodeMessage"
            return f"try {decoder}({src}, as: {self.base_type(types)}.self)"
        raise AssertionError

    def decode_repeated(self, types):
        n, p = f"c.n_{self.c}", f"c.{self.c}"
        t = self.f.type
        if t in SCALARS:
            return f"decodeArray({p}, count: {n})"
        if t == FD.TYPE_STRING:
            return f'try decodeStrings({p}, count: {n}, field: "{self.field_label()}")'
        if t == FD.TYPE_BOOL:
            return f"decodeEnums({p}, count: {n}) {{ $0 != 0 }}"
        if t == FD.TYPE_ENUM:
            return f"decodeEnums({p}, count: {n}) {{ {self.base_type(types)}(rawValue: Int32(bitPattern: $0.rawValue)) }}"
        if t == FD.TYPE_MESSAGE:
            return f"try decodeMessages({p}, count: {n}, as: {self.base_type(types)}.self)"
        raise SystemExit(f"unsupported repeated type in {self.field_label()}")

    # Swift expression producing the C value for the (non-repeated) Swift value `v`.
    def encode_single(self, v, types):
        t = self.f.type
        if t in SCALARS:
            return v
        if t == FD.TYPE_BOOL:
            return f"{v} ? 1 : 0"
        if t == FD.TYPE_STRING:
            return f'try arena.string({v}, field: "{self.field_label()}")'
        if t == FD.TYPE_BYTES:
            return f"arena.bytes({v})"
        if t == FD.TYPE_ENUM:
            return f"{c_type_name(self.f.type_name, types)}(rawValue: UInt32(bitPattern: {v}.rawValue))"
        if t == FD.TYPE_MESSAGE:
            return f"try arena.message({v})"
        raise AssertionError

    def encode_repeated(self, v, types):
        t = self.f.type
        if t in SCALARS:
            return f"arena.array({v})"
        if t == FD.TYPE_STRING:
            return f'try arena.strings({v}, field: "{self.field_label()}")'
        if t == FD.TYPE_BOOL:
            return f"arena.array({v}.map {{ protobuf_c_boolean($0 ? 1 : 0) }})"
        if t == FD.TYPE_ENUM:
            ct = c_type_name(self.f.type_name, types)
            return f"arena.array({v}.map {{ {ct}(rawValue: UInt32(bitPattern: $0.rawValue)) }})"
        if t == FD.TYPE_MESSAGE:
            return f"try arena.messages({v})"
        raise AssertionError


def gen_enum(file, e, path, types, out):
    name = e.name
    out += file.doc(path, "    ")
    out.append(f"    public struct {name}: RawRepresentable, Hashable, Sendable, CustomStringConvertible {{")
    out.append("        /// The number on the wire; numbers this schema does not know are kept, not rejected.")
    out.append("        public var rawValue: Int32")
    out.append("        public init(rawValue: Int32) { self.rawValue = rawValue }")
    cases = []
    for i, v in enumerate(e.value):
        case = enum_case_name(name, v.name)
        cases.append((case, v.number, v.name))
        out += file.doc(path + [2, i], "        ")
        out.append(f"        public static let {case} = {name}(rawValue: {v.number})")
    known = ", ".join(f".{case}" for case, _, _ in cases)
    out.append("        /// Every value this schema defines, in number order.")
    out.append(f"        public static let allKnown: [{name}] = [{known}]")
    out.append("        /// Whether this schema defines the number (a newer peer may send others).")
    out.append(f"        public var isKnown: Bool {{ Self.allKnown.contains(self) }}")
    out.append("        public var description: String {")
    out.append("            switch rawValue {")
    for case, number, vname in cases:
        out.append(f'            case {number}: "{case.strip("`")}"')
    out.append(f'            default: "{name}(\\(rawValue))"')
    out.append("            }")
    out.append("        }")
    out.append("    }")
    out.append("")


def gen_message(file, m, path, types, out, conv):
    name = m.name
    fields = [Field(f, m, i, file) for i, f in enumerate(m.field)]
    oneofs = {}
    for f in fields:
        if f.in_oneof:
            oneofs.setdefault(f.f.oneof_index, []).append(f)
    # Public properties, in field order; a oneof appears where its first field is.
    props = []  # (swift name, swift type, default, doc lines)
    seen_oneofs = set()
    for f in fields:
        doc = file.doc(path + [2, f.index], "        ")
        if not f.in_oneof:
            props.append((f.swift, f.swift_type(types), f.default(types), doc))
            continue
        oi = f.f.oneof_index
        if oi in seen_oneofs:
            continue
        seen_oneofs.add(oi)
        members = oneofs[oi]
        if len(members) == 1:  # presence: an optional property
            props.append((f.swift, f"{f.base_type(types)}?", "nil", doc))
        else:
            oname = m.oneof_decl[oi].name
            odoc = file.doc(path + [8, oi], "        ")
            props.append((lower_camel(oname), f"{upper_camel(oname)}?", "nil", odoc))

    out += file.doc(path, "    ")
    out.append(f"    public struct {name}: Sendable, Hashable {{")
    for oi, members in sorted(oneofs.items()):
        if len(members) == 1:
            continue
        oname = m.oneof_decl[oi].name
        out += file.doc(path + [8, oi], "        ")
        out.append(f"        public enum {upper_camel(oname)}: Sendable, Hashable {{")
        for f in members:
            out += file.doc(path + [2, f.index], "            ")
            out.append(f"            case {f.swift}({f.base_type(types)})")
        out.append("        }")
        out.append("")
    for pname, ptype, pdefault, doc in props:
        out += doc
        out.append(f"        public var {pname}: {ptype}")
    out.append("")
    out.append(f"        /// Creates a `{name}`; every argument defaults to the field's zero value.")
    params = ", ".join(f"{p.strip('`')}: {t} = {d}" for p, t, d, _ in props)
    out.append(f"        public init({params}) {{")
    for p, _, _, _ in props:
        out.append(f"            self.{p} = {p.strip('`')}")
    out.append("        }")
    out.append("    }")
    out.append("")

    # Conversion to and from the protobuf-c struct.
    full = f".{file.fdp.package}.{name}"
    ct, cf = c_type_name(full, types), c_func(full, types)
    sw = f"{file.namespace}.{name}"
    # Every request message carries `CallMetadata metadata = 1000` (proto/README.md): one protocol
    # lets clients set it and servers read it without knowing the method.
    carrier = any(f.f.number == 1000 and f.f.name == "metadata" and f.f.type_name.endswith(".CallMetadata")
                  for f in fields)
    protocols = "ProtobufMessage, CMessageConvertible" + (", CallMetadataCarrier" if carrier else "")
    conv.append(f"extension {sw}: {protocols} {{")
    if carrier:  # the model a request names, for the call's log line
        named = {f.f.name: f for f in fields}
        model = named.get("model")
        if model is not None and model.f.type_name.endswith(".ModelRef"):
            conv += ["    public var modelName: String? { model?.name }", ""]
        elif model is not None and model.f.type == 9:  # TYPE_STRING
            conv += ["    public var modelName: String? { model.isEmpty ? nil : model }", ""]
        elif "name" in named and m.name in ("ImportModelRequest", "DeleteModelRequest", "SetAliasRequest"):
            conv += ["    public var modelName: String? { name.isEmpty ? nil : name }", ""]
    conv.append(f"    typealias CStruct = {ct}")
    conv.append("")
    conv.append("    public init(serializedBytes bytes: UnsafeRawBufferPointer, maxSize: Int) throws(CodecError) {")
    conv.append(f"        self = try decodeTopLevel(bytes, maxSize: maxSize, unpack: {cf}__unpack, descriptor: {cf}__descriptor, as: Self.self)")
    conv.append("    }")
    conv.append("")
    conv.append("    public func serialize(_ body: (_ size: Int, _ write: (UnsafeMutableRawPointer) -> Void) -> Void) throws(CodecError) {")
    conv.append(f"        try serializeMessage(self, packedSize: {cf}__get_packed_size, pack: {cf}__pack, body)")
    conv.append("    }")
    conv.append("")
    # One memberwise init call: assigning the fields of a default-initialised self made the throwing
    # init copy and destroy the whole value.
    conv.append(f"    init(c: {ct}) throws(CodecError) {{")
    field_args = {}
    for f in fields:  # read before the oneofs, as protobuf-c lays them out (the first bad field is reported)
        if f.in_oneof:
            continue
        value = f.decode_repeated(types) if f.repeated else f.decode_single(f"c.{f.c}", types)
        if oneofs:
            conv.append(f"        let field_{f.c} = {value}")
            value = f"field_{f.c}"
        field_args[f.swift] = value
    oneof_args = {}
    for oi, members in sorted(oneofs.items()):
        oname = m.oneof_decl[oi].name
        local = f"oneof_{oname}"
        if len(members) == 1:
            f = members[0]
            oneof_args[f.swift] = local
            conv.append(f"        var {local}: {f.base_type(types)}? = nil")
            conv.append(f"        if c.{oname}_case.rawValue == {f.f.number} {{ {local} = {f.decode_single(f'c.{f.c}', types)} }}")
        else:
            oneof_args[lower_camel(oname)] = local
            conv.append(f"        var {local}: {upper_camel(oname)}? = nil")
            conv.append(f"        switch c.{oname}_case.rawValue {{")
            for f in members:
                conv.append(f"        case {f.f.number}: {local} = .{f.swift}({f.decode_single(f'c.{f.c}', types)})")
            conv.append("        default: break")
            conv.append("        }")
    args = [f"{p.strip('`')}: {oneof_args.get(p) or field_args[p]}" for p, _, _, _ in props]
    if args:
        conv.append("        self.init(")
        conv += [f"            {a}," for a in args[:-1]] + [f"            {args[-1]})"]
    else:
        conv.append("        self.init()")
    conv.append("    }")
    conv.append("")
    conv.append("    func fill(_ c: inout CStruct, _ arena: CodecArena) throws(CodecError) {")
    conv.append(f"        {cf}__init(&c)")
    conv += fill_lines(fields, oneofs, m, ct, types, "c.", borrowed=())
    conv.append("    }")
    if is_borrowing(full, types):
        borrowed = [f for f in fields if borrows_field(f, types)]
        conv.append("")
        conv.append("    func fill(_ c: UnsafeMutablePointer<CStruct>, _ arena: CodecArena, then body: () throws(CodecError) -> Void) throws(CodecError) {")
        conv.append(f"        {cf}__init(c)")
        conv += fill_lines(fields, oneofs, m, ct, types, "c.pointee.", borrowed=borrowed)
        for depth, f in enumerate(borrowed):
            indent = "    " * (2 + depth)
            if f.repeated:
                conv.append(f"{indent}try withBorrowedArray(self.{f.swift}, &c.pointee.n_{f.c}, &c.pointee.{f.c}) {{ () throws(CodecError) in")
            else:
                conv.append(f"{indent}try arena.withMessage(self.{f.swift}, &c.pointee.{f.c}) {{ () throws(CodecError) in")
        conv.append("    " * (2 + len(borrowed)) + "try body()")
        conv += ["    " * (2 + depth) + "}" for depth in reversed(range(len(borrowed)))]
        conv.append("    }")
    conv.append("}")
    conv.append("")


def fill_lines(fields, oneofs, m, ct, types, c, borrowed):
    """Statements filling the C struct `c` (a prefix: `c.` or `c.pointee.`) from self, except `borrowed` fields."""
    lines = []
    for f in fields:
        if f.in_oneof or f in borrowed:
            continue
        if f.repeated:
            lines.append(f"        {c}n_{f.c} = self.{f.swift}.count")
            lines.append(f"        {c}{f.c} = {f.encode_repeated('self.' + f.swift, types)}")
        elif f.is_message():
            lines.append(f"        if let v = self.{f.swift} {{ {c}{f.c} = {f.encode_single('v', types)} }}")
        else:
            lines.append(f"        {c}{f.c} = {f.encode_single('self.' + f.swift, types)}")
    for oi, members in sorted(oneofs.items()):
        oname = m.oneof_decl[oi].name
        case_type = f"{ct}__{upper_camel(oname)}Case"
        if len(members) == 1:
            f = members[0]
            lines.append(f"        if let v = self.{f.swift} {{")
            lines.append(f"            {c}{oname}_case = {case_type}(rawValue: {f.f.number})")
            lines.append(f"            {c}{f.c} = {f.encode_single('v', types)}")
            lines.append("        }")
        else:
            lines.append(f"        switch self.{lower_camel(oname)} {{")
            for f in members:
                lines.append(f"        case .{f.swift}(let v)?:")
                lines.append(f"            {c}{oname}_case = {case_type}(rawValue: {f.f.number})")
                lines.append(f"            {c}{f.c} = {f.encode_single('v', types)}")
            lines.append("        case nil: break")
            lines.append("        }")
    return lines


def borrows_field(f, types):
    """Whether the borrowing fill points this field at Swift storage: repeated scalars whose Swift and C
    types are the same (Float, UInt32, ...), and singular nested messages that borrow (oneof members and
    elements of repeated messages are copied, which keeps the nesting of borrow scopes fixed)."""
    if f.in_oneof:
        return False
    if f.repeated:
        return f.f.type in SCALARS
    return f.is_message() and is_borrowing(f.f.type_name, types)


def is_borrowing(full_name, types, visiting=()):
    """Whether a message has a field its borrowing fill points at Swift storage (memoised in types)."""
    memo = types.setdefault("__borrowing__", {})
    if full_name not in memo:
        if full_name in visiting:
            return False
        f, _, _ = types[full_name]
        m = next(x for x in f.fdp.message_type if x.name == types[full_name][2])
        memo[full_name] = any(
            not fd.HasField("oneof_index") and (
                (fd.label == FD.LABEL_REPEATED and fd.type in SCALARS)
                or (fd.label != FD.LABEL_REPEATED and fd.type == FD.TYPE_MESSAGE
                    and is_borrowing(fd.type_name, types, visiting + (full_name,))))
            for fd in m.field)
    return memo[full_name]


def write_descriptor_c(raw, c_dir):
    lines = [
        "// DO NOT EDIT. Generated by tools/codegen/swift_codec.py from proto/modelwire.desc.pb.",
        '#include "descriptor_set.h"',
        "",
        f"static const unsigned char bytes[{len(raw)}] = {{",
    ]
    for i in range(0, len(raw), 20):
        lines.append("    " + ", ".join(f"0x{b:02x}" for b in raw[i:i + 20]) + ",")
    lines += [
        "};",
        "",
        "const unsigned char *CModelwireProtobuf_fileDescriptorSet(void) { return bytes; }",
        "size_t CModelwireProtobuf_fileDescriptorSetSize(void) { return sizeof bytes; }",
    ]
    with open(os.path.join(c_dir, "descriptor_set.c"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def main():
    desc_path, out_dir, c_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    fds = descriptor_pb2.FileDescriptorSet()
    with open(desc_path, "rb") as fh:
        raw = fh.read()
    fds.ParseFromString(raw)
    write_descriptor_c(raw, c_dir)
    files = [File(f, None) for f in fds.file if f.package.startswith("modelwire.")]
    types = {}
    for f in files:
        for m in f.fdp.message_type:
            if m.nested_type or m.enum_type:
                raise SystemExit(f"{m.name}: nested types are not supported by this generator")
            types[f".{f.fdp.package}.{m.name}"] = (f, "message", m.name)
        for e in f.fdp.enum_type:
            types[f".{f.fdp.package}.{e.name}"] = (f, "enum", e.name)
    os.makedirs(out_dir, exist_ok=True)
    for stale in os.listdir(out_dir):
        if stale.endswith(".swift"):
            os.remove(os.path.join(out_dir, stale))
    namespaces = sorted({f.namespace for f in files})
    for f in files:
        base = os.path.splitext(os.path.basename(f.fdp.name))[0]
        out = [
            f"// DO NOT EDIT. Generated by tools/codegen/swift_codec.py from proto/{f.fdp.name}.",
            "// swift-format-ignore-file",
            "",
            "internal import CModelwireProtobuf",
            "",
            f"extension {f.namespace} {{",
        ]
        conv = []
        for i, e in enumerate(f.fdp.enum_type):
            gen_enum(f, e, [5, i], types, out)
        for i, m in enumerate(f.fdp.message_type):
            gen_message(f, m, [4, i], types, out, conv)
        if out[-1] == "":
            out.pop()
        out.append("}")
        out.append("")
        out += conv
        name = f"{f.namespace}+{upper_camel(base)}.swift"
        with open(os.path.join(out_dir, name), "w") as fh:
            fh.write("\n".join(out).rstrip("\n") + "\n")
    schema = [
        "// DO NOT EDIT. Generated by tools/codegen/swift_codec.py.",
        "// swift-format-ignore-file",
        "",
    ]
    for ns in namespaces:
        pkg = next(f.fdp.package for f in files if f.namespace == ns)
        schema += [
            f"/// The `{pkg}` schema: value types for every message and enum of proto/{pkg.replace('.', '/')}/.",
            f"public enum {ns}: Sendable {{",
            f'    /// The protobuf package of this namespace.',
            f'    public static let package = "{pkg}"',
            "",
            "    /// Every message type of the package by its full protobuf name, e.g. `modelwire.v1.Tensor`.",
            "    public static let messageTypes: [String: any ProtobufMessage.Type] = [",
        ]
        for f in files:
            if f.namespace != ns:
                continue
            for m in f.fdp.message_type:
                schema.append(f'        "{pkg}.{m.name}": {ns}.{m.name}.self,')
        schema += [
            "    ]",
            "}",
            "",
        ]
    with open(os.path.join(out_dir, "Schema.swift"), "w") as fh:
        fh.write("\n".join(schema).rstrip("\n") + "\n")


if __name__ == "__main__":
    main()
