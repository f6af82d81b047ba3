// Formal harness: the VMAC lane's final rounding, rtl/common/float32.py F32FixedRound(width=64,
// z_exp=-20, rows=2) converted on its own as gate_f32_round, against f32_round_ref.v.
// Every stage loads every cycle (ld = 3'b111, capture = 1), so the words presented in cycle n
// are rounded on the output register in cycle n + 3. Checked with `sat -seq 4 -prove-skip 3`:
// the output of step 4 equals the reference of the inputs of step 1, for all 2^129 inputs.
module f32_round_harness (
    input        clk,
    input [63:0] zs,
    input [63:0] zc,
    input        nan
);
    wire [31:0] o;
    gate_f32_round dut (.clk(clk), .rst(1'b0), .z({zc, zs}), .nan(nan), .capture(1'b1),
                        .ld(3'b111), .o(o));
    wire [31:0] expect;
    f32_round_ref r (.zs(zs), .zc(zc), .nan(nan), .o(expect));
    reg [31:0] e1, e2, e3;
    always @(posedge clk) begin e1 <= expect; e2 <= e1; e3 <= e2; end
    always @* assert (o == e3);
endmodule
