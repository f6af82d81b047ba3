// Formal harness: the FP4/FP8 decision of the activation quantizer (rtl/fgmp/act_quant.py
// BlockScore, converted on its own as gate_block_score) against decision_ref (fgmp_quant_ref.v).
//
// verif/formal.py cuts the two registered carry-save rows of the score (cs0_d2, cs1_d2) with
// `expose -cut -sep _`: their readers become the free inputs cs0_d2_i / cs1_d2_i of
// gate_block_score (the registers drive the new outputs cs0_d2 / cs1_d2), so the proof
// covers every pair of rows and every threshold, one combinational step (`sat -seq 1`). The
// squares and the weighted bit heap in front of the rows are not part of this proof (see
// docs/verification.md).
//
//   score == s + c and gt == (s + c > tau) for every tau (signed 64 bits) and every pair of
//   rows s, c < 2^62 whose sum is below 2^62 (the score of every block is below 2^62:
//   docs/fgmp.md §4; a pair beyond that is unreachable).
module act_quant_decision_harness (
    input               clk,
    input  [61:0]       s,
    input  [61:0]       c,
    input  signed [63:0] tau
);
    wire [61:0] score;
    wire        gt;
    gate_block_score dut (.clk(clk), .rst(1'b0), .d(320'b0), .fbar(112'b0), .ld1(1'b0),
                          .ld2(1'b0), .tau(tau), .cs0_d2_i(s), .cs1_d2_i(c), .cs0_d2(),
                          .cs1_d2(), .score(score), .gt(gt));
    wire [61:0] ref_score;
    wire        ref_gt;
    decision_ref r (.s(s), .c(c), .tau(tau), .gt(ref_gt), .score(ref_score));
    wire [62:0] sum = {1'b0, s} + {1'b0, c};
    always @* begin
        if (!sum[62]) begin
            assert (score == ref_score);
            assert (gt == ref_gt);
        end
    end
endmodule
