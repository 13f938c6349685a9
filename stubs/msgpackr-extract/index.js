// msgpackr treats a falsy module as "no native extractor" and uses its JS decoder.
module.exports = null;
