package actors_test

import (
	"encoding/json"
	"fmt"

	"github.com/cohort-dev/cohort/actors"
	"github.com/cohort-dev/cohort/eventstore"
)

// PriceChanged and DiscountGranted are today's events; an old release
// stored both as one "shop.Repriced" event, with the price in cents when
// its metadata said so.
type (
	PriceChanged struct {
		SKU   string
		Price int
	}
	DiscountGranted struct {
		SKU     string
		Percent int
	}
)

// An upcaster sees the stored event's metadata and splits it into the two
// events it stands for today; aggregates, handlers and process managers
// then see both.
func ExampleRegistry_RegisterEventUpcaster() {
	r := actors.NewRegistry()
	actors.MustRegisterEvent[PriceChanged](r, "shop.PriceChanged")
	actors.MustRegisterEvent[DiscountGranted](r, "shop.DiscountGranted")
	err := r.RegisterEventUpcaster("shop.Repriced", func(ev actors.StoredEvent) ([]actors.StoredEvent, error) {
		var old struct {
			SKU      string `json:"sku"`
			Price    int    `json:"price"`
			Discount int    `json:"discount"`
		}
		if err := json.Unmarshal(ev.Data, &old); err != nil {
			return nil, err
		}
		if ev.Metadata["unit"] == "cents" {
			old.Price /= 100
		}
		price, _ := json.Marshal(PriceChanged{SKU: old.SKU, Price: old.Price})
		discount, _ := json.Marshal(DiscountGranted{SKU: old.SKU, Percent: old.Discount})
		return []actors.StoredEvent{
			{Type: "shop.PriceChanged", Data: price, Metadata: ev.Metadata},
			{Type: "shop.DiscountGranted", Data: discount, Metadata: ev.Metadata},
		}, nil
	})
	if err != nil {
		fmt.Println(err)
		return
	}

	stored := eventstore.RecordedEvent{
		Type:     "shop.Repriced",
		Data:     []byte(`{"sku":"mug","price":1200,"discount":10}`),
		Metadata: []byte(`{"unit":"cents"}`),
		Position: 42,
	}
	evs, err := actors.DecodeEvents(r, stored)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, ev := range evs {
		fmt.Printf("%d %+v\n", ev.Position, ev.Payload)
	}
	// Output:
	// 42 {SKU:mug Price:12}
	// 42 {SKU:mug Percent:10}
}
