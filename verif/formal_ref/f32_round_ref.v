// Reference of the VMAC's final rounding (SPEC.md §5, docs/fgmp.md §3), for the formal proof of
// rtl/common/float32.py F32FixedRound in the configuration the VMAC lane uses (two carry-save
// words of 64 bits, units 2^-20, no start value). Written from the rule, not from the RTL (which
// normalises by whole bytes, then by 0..7 bits):
//
//   z = zs + zc (mod 2^64, two's complement), value = z * 2^-20, rounded once to FP32:
//   round to nearest, ties to even; an exact zero gives +0; a NaN flag gives 0x7FC00000.
//   |z| < 2^63, so the value lies in [2^-20, 2^43): always a normal FP32, never Inf.
module f32_round_ref (
    input  [63:0]     zs,
    input  [63:0]     zc,
    input             nan,
    output reg [31:0] o
);
    reg [63:0] z, mag;
    reg        sign;
    integer    p, k;             // position of the leading one of |z|
    reg [63:0] kept;             // the 24 significant bits, before rounding
    reg        guard, sticky, up;
    reg [24:0] rounded;          // 24 bits + the carry of the rounding
    reg [7:0]  expo;

    always @* begin
        z = zs + zc;
        sign = z[63];
        mag = sign ? -z : z;
        p = 0;
        for (k = 0; k < 64; k = k + 1)
            if (mag[k]) p = k;
        guard = 0;
        sticky = 0;
        if (p <= 23) begin
            kept = mag << (23 - p);                     // exact
        end else begin
            kept = mag >> (p - 23);
            guard = mag[p - 24];
            sticky = (mag & ((64'd1 << (p - 24)) - 64'd1)) != 0;
        end
        up = guard && (sticky || kept[0]);
        rounded = kept[23:0] + up;
        // value = 1.f * 2^(p - 20); a carry out of 24 bits moves up one binade
        expo = p - 20 + 127 + rounded[24];
        if (nan)
            o = 32'h7FC00000;
        else if (mag == 0)
            o = 32'h00000000;
        else if (rounded[24])
            o = {sign, expo, 23'b0};
        else
            o = {sign, expo, rounded[22:0]};
    end
endmodule
