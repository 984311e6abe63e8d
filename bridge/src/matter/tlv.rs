//! Conversions between device-types' plain Matter values and rs-matter TLV: attribute values out,
//! command and write arguments in. Anything a controller sends is decoded defensively: an
//! unexpected type becomes `ArgValue::Other`, which device-types rejects with a clear error.

use device_types::matter::{ArgValue, AttrValue, CommandArgs};
use rs_matter::dm::Reply;
use rs_matter::error::Error;
use rs_matter::tlv::{TLVElement, TLVTag, TLVValue, TLVWrite};

/// A value to put in an attribute report: a device-types value, or a string owned by the bridge.
pub enum Out<'a> {
    Value(AttrValue),
    Str(&'a str),
}

/// Encode `value` as the attribute data of `reply`.
pub fn write_reply<R: Reply>(mut reply: R, value: Out<'_>) -> Result<(), Error> {
    let tag = reply.tag().clone();
    {
        let mut tw = reply.writer();
        match value {
            Out::Str(s) => tw.utf8(&tag, s)?,
            Out::Value(v) => write_value(&mut tw, &tag, &v)?,
        }
    }
    reply.complete()
}

/// Encode one value under `tag`; structures and lists recursively (list elements anonymous).
pub fn write_value<W: TLVWrite>(tw: &mut W, tag: &TLVTag, v: &AttrValue) -> Result<(), Error> {
    match v {
        AttrValue::Bool(b) => tw.bool(tag, *b),
        AttrValue::U8(x) => tw.u8(tag, *x),
        AttrValue::I8(x) => tw.i8(tag, *x),
        AttrValue::U16(x) => tw.u16(tag, *x),
        AttrValue::U32(x) => tw.u32(tag, *x),
        AttrValue::I16(x) => tw.i16(tag, *x),
        AttrValue::I64(x) => tw.i64(tag, *x),
        AttrValue::F32(x) => tw.f32(tag, *x),
        AttrValue::Null => tw.null(tag),
        AttrValue::Str(s) => tw.utf8(tag, s),
        AttrValue::Struct(fields) => {
            tw.start_struct(tag)?;
            for (t, value) in fields {
                write_value(tw, &TLVTag::Context(*t), value)?;
            }
            tw.end_container()
        }
        AttrValue::List(items) => {
            tw.start_array(tag)?;
            for item in items {
                write_value(tw, &TLVTag::Anonymous, item)?;
            }
            tw.end_container()
        }
    }
}

/// Decode one scalar TLV element.
pub fn arg_value(el: &TLVElement<'_>) -> ArgValue {
    match el.value() {
        Ok(TLVValue::U8(v)) => ArgValue::UInt(v.into()),
        Ok(TLVValue::U16(v)) => ArgValue::UInt(v.into()),
        Ok(TLVValue::U32(v)) => ArgValue::UInt(v.into()),
        Ok(TLVValue::U64(v)) => ArgValue::UInt(v),
        Ok(TLVValue::S8(v)) => ArgValue::Int(v.into()),
        Ok(TLVValue::S16(v)) => ArgValue::Int(v.into()),
        Ok(TLVValue::S32(v)) => ArgValue::Int(v.into()),
        Ok(TLVValue::S64(v)) => ArgValue::Int(v),
        Ok(TLVValue::True) => ArgValue::Bool(true),
        Ok(TLVValue::False) => ArgValue::Bool(false),
        Ok(TLVValue::Null) => ArgValue::Null,
        Ok(TLVValue::Utf8l(s)) => ArgValue::Str(s.to_string()),
        _ => ArgValue::Other,
    }
}

/// Decode the fields of a command's request struct, keyed by context tag. A command without a
/// payload (On, Off, Toggle...) gives no fields.
pub fn command_args(data: &TLVElement<'_>) -> Result<CommandArgs, Error> {
    let mut args = Vec::new();
    if data.is_empty() {
        return Ok(CommandArgs(args));
    }
    let Ok(fields) = data.structure() else {
        return Ok(CommandArgs(args));
    };
    for field in fields.iter() {
        let field = field?;
        if let Ok(Some(tag)) = field.try_ctx() {
            args.push((tag, arg_value(&field)));
        }
    }
    Ok(CommandArgs(args))
}

/// Emit `event` of `cluster` on `endpoint` with a payload of context-tagged fields (as
/// `device_types::matter::event_fields` describes them).
pub fn emit_event(
    emitter: &impl rs_matter::dm::EventEmitter,
    endpoint: u16,
    cluster: u32,
    event: u32,
    priority: rs_matter::im::EventPriority,
    fields: &[(u8, AttrValue)],
) -> Result<(), Error> {
    emitter
        .emit_event(endpoint, cluster, event, priority, |mut tw| {
            tw.start_struct(&rs_matter::im::events::EVENT_DATA_TAG)?;
            for (tag, value) in fields {
                write_value(&mut tw, &TLVTag::Context(*tag), value)?;
            }
            tw.end_container()
        })
        .map(|_| ())
}
